import CByteScan
import Testing
@testable import WarmsetKeys

/// `KeyBuilder.build` answers a target whose path the first rule matches as logged without its
/// steps (`firstRuleKey`) when that rule is a literal, digits and a literal. It must answer as the
/// steps do for every target: random targets made of what the rule, normalization, the query
/// policy and log escapes act on, against a builder of the same rules that always takes the steps.
@Suite("Keys: the first rule's key without the normalization steps")
struct FirstRuleKeyTests {
    static let pieces = ["/products/", "/products", "/product/", "/PRODUCTS/", "/users/", "/profile", "/", "//", "/./", "/../", ".",
                         "%31", "%70", "%2F", "%2e", "%zz", "?", "#", "?page=2", "&q=1", "\\x2F", "\\x3F", "\\x23", "\\x31", "\\",
                         "12", "0", "7", "123456", "99999999999999999999", "a", " ", "é", "\"", "~", "\u{01}"]

    static func randomTarget(_ rng: inout SplitMix) -> String {
        // Half are a rule's path with an id and at most one piece after it (the first rule
        // matches many of those as logged); the others start as a rule's path and go on anyhow.
        let starts = ["/products/", "/api/v1/items/", "/users/", ""]
        var target = starts[Int(rng.next() % UInt64(starts.count))]
        if rng.next() % 2 == 0 {
            target += String(rng.next() % 10_000_000)
            if target.hasPrefix("/users/") && rng.next() % 4 != 0 { target += "/profile" }
            if rng.next() % 2 == 0 { target += pieces[Int(rng.next() % UInt64(pieces.count))] }
            return target
        }
        for _ in 0..<Int(rng.next() % 5) { target += pieces[Int(rng.next() % UInt64(pieces.count))] }
        return target
    }

    /// (name, the builder under test, whether its first rule answers alone, its rules, excludes,
    /// query policy and limits to make the reference from)
    static func builders() throws -> [(String, Bool, () throws -> KeyBuilder)] {
        let products = #"^/products/(\d+)$ => product:$1"#
        let items = #"^/api/v1/items/([0-9]+)/?$ => item:$1"#
        return [
            ("one digits rule", true, { KeyBuilder(rules: [try KeyRule(products)]) }),
            ("a digits rule with a literal after the digits", true, { KeyBuilder(rules: [try KeyRule(#"^/users/(\d+)/profile$ => user:$1"#)]) }),
            ("a digits rule first, then others", true, {
                KeyBuilder(rules: [try KeyRule(products), try KeyRule(#"^/products/(.*)$ => other:$1"#), try KeyRule(#"^(.*)$ => any:$1"#)])
            }),
            ("the query kept", true, { KeyBuilder(rules: [try KeyRule(products), try KeyRule(#"^(.*)$ => any:$1"#)], queryPolicy: .all) }),
            ("some parameters kept", true, {
                KeyBuilder(rules: [try KeyRule(products)], queryPolicy: try QueryPolicy(parsing: "page"))
            }),
            ("a short key limit", true, { KeyBuilder(rules: [try KeyRule(products)], maxKeyBytes: 12) }),
            ("a tiny target limit", true, { KeyBuilder(rules: [try KeyRule(products)], maxTargetBytes: 4) }),
            // Not answered alone: the rule is not digits between literals, or a path it matches
            // would be normalized, or there is an exclude to ask first.
            ("a digits rule that is not first", false, { KeyBuilder(rules: [try KeyRule(#"^/users/(.*)$ => u:$1"#), try KeyRule(items)]) }),
            ("an optional trailing slash", false, { KeyBuilder(rules: [try KeyRule(items)]) }),
            ("a dot segment after the digits", false, { KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)/\.x$ => p:$1"#)]) }),
            ("a rule that does not start with a slash", false, { KeyBuilder(rules: [try KeyRule(#"^products/(\d+)$ => p:$1"#)]) }),
            ("with an exclude", false, {
                KeyBuilder(rules: [try KeyRule(products)], excludes: [try Pattern("^/products/0", wholeSubject: false, what: "test")])
            }),
        ]
    }

    @Test func answersAsTheStepsDo() throws {
        var rng = SplitMix(seed: 29)
        for (name, answersAlone, make) in try Self.builders() {
            let builder = try make()
            let reference = try make()
            reference.firstRuleIsFast = false
            #expect(builder.firstRuleIsFast == answersAlone, "\(name)")
            var keyed = 0
            for i in 0..<30_000 {
                let target = Self.randomTarget(&rng)
                let escapes = rng.next() % 4 != 0
                var bytes = Array(target.utf8)
                let (got, gotKey, gotPath) = bytes.withUnsafeMutableBytes { builder.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: escapes).copied }
                let (want, wantKey, wantPath) = bytes.withUnsafeMutableBytes {
                    reference.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: escapes).copied
                }
                #expect(got == want, "\(name), target \(i) '\(target)' (escapes: \(escapes))")
                if want == .key {
                    keyed += 1
                    #expect(gotKey == wantKey && gotPath == wantPath, "\(name), target \(i) '\(target)': \(gotKey) / \(gotPath)")
                }
                if got != want || (want == .key && (gotKey != wantKey || gotPath != wantPath)) { break }
            }
            // The corpus keys a good share of targets, so that the answers of the first rule
            // alone are compared, not only the steps' answers with the steps'.
            if answersAlone { #expect(keyed > 100, "\(name): only \(keyed) targets keyed") }
        }
    }

    /// The answer is the first rule's even where a later rule would match the path before
    /// normalization, and a target that needs the steps (an escape, a kept query, a path to
    /// normalize) gets theirs.
    @Test func knownTargets() throws {
        let builder = KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)$ => product:$1"#), try KeyRule(#"^(.*)$ => any:$1"#)])
        #expect(builder.firstRuleIsFast)
        func key(_ target: String, escapes: Bool = true) -> String {
            var bytes = Array(target.utf8)
            let (verdict, key, _) = bytes.withUnsafeMutableBytes { builder.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: escapes).copied }
            return verdict == .key ? String(decoding: key, as: UTF8.self) : "\(verdict)"
        }
        #expect(key("/products/123") == "product:123")
        #expect(key("/products/123?utm=x#top") == "product:123")
        #expect(key("/products/123#top") == "product:123")
        #expect(key("/products/%31%32") == "product:12")  // normalized first
        #expect(key("/products/./12") == "product:12")
        #expect(key("/products/12\\x3Fa=1") == "product:12")  // an escaped `?` still cuts the path
        #expect(key("/products/12\\x3Fa=1", escapes: false) == "any:/products/12%5Cx3Fa=1")
        #expect(key("/products/") == "any:/products/")
        #expect(key("/products/12/") == "any:/products/12/")
    }

    /// The target's cut (its first `?` or `#`) and whether it holds a backslash, found in one pass
    /// (`warmset_target_cut`; 16…64 bytes in one step of overlapping compares): every length from 0
    /// to 100, plain and with each of `?`, `#` and `\` at every position, and with a `#` then a `?`.
    @Test func targetCutsAtEveryLength() {
        func check(_ target: [UInt8]) {
            var backslash: Int32 = -1
            let cut = target.withUnsafeBufferPointer { warmset_target_cut($0.baseAddress!, $0.count, &backslash) }
            let want = target.firstIndex { $0 == 0x3F || $0 == 0x23 } ?? target.count
            #expect(cut == want && backslash == (target.contains(0x5C) ? 1 : 0), "\(String(decoding: target, as: UTF8.self))")
        }
        for n in 0...100 {
            // Bytes beyond the target are `?` and `\`: the scan must not look past its end.
            let padded = Array(repeating: UInt8(ascii: "a"), count: n) + Array("?\\#".utf8)
            padded.withUnsafeBufferPointer { whole in
                var backslash: Int32 = -1
                #expect(warmset_target_cut(whole.baseAddress!, n, &backslash) == n && backslash == 0, "\(n) plain bytes")
            }
            for position in 0..<n {
                for byte in [UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "\\")] {
                    var target = Array(repeating: UInt8(ascii: "a"), count: n)
                    target[position] = byte
                    check(target)
                    if position + 1 < n {
                        target[position + 1] = byte == 0x3F ? 0x23 : 0x3F
                        check(target)
                    }
                }
            }
        }
    }

    /// Short copies (`warmset_copy`, behind every append to a scratch buffer) copy exactly their
    /// bytes, whatever the length, and nothing past them.
    @Test func shortCopiesAreExact() {
        let source = (0..<64).map { UInt8($0 + 1) }
        for count in 0...40 {
            var scratch = ByteScratch(capacity: 64)
            defer { scratch.free() }
            scratch.base.initialize(repeating: 0xEE, count: 64)
            let appended = source.withUnsafeBytes { scratch.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            #expect(appended && scratch.count == count)
            let written = Array(UnsafeBufferPointer(start: scratch.base, count: 64))
            #expect(Array(written[0..<count]) == Array(source[0..<count]), "\(count) bytes")
            #expect(written[count...].allSatisfy { $0 == 0xEE }, "\(count) bytes: nothing written past them")
        }
    }
}
