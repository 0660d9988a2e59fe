import Testing
@testable import WarmsetKeys
import WarmsetFormat

/// What a `KeyResult` says, without its views: a key, or why there is none (comparable).
enum Verdict: Equatable {
    case key
    case skipped(RequestFilter.Reason)

    init(_ result: KeyResult) {
        switch result {
        case .keyed: self = .key
        case .skipped(let reason): self = .skipped(reason)
        }
    }
}

extension KeyResult {
    /// The verdict, the key and the path (empty without a key), copied out of the builder.
    var copied: (Verdict, [UInt8], [UInt8]) {
        switch self {
        case .keyed(let built): return (.key, Array(built.key), Array(built.path))
        case .skipped(let reason): return (.skipped(reason), [], [])
        }
    }
}

@Suite("Keys: normalization, query, rules")
struct KeyBuilderTests {
    static func build(_ builder: KeyBuilder, _ target: String, escapes: Bool = true) -> (Verdict, String, String) {
        var bytes = Array(target.utf8)
        let (verdict, key, path) = bytes.withUnsafeMutableBytes { builder.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: escapes).copied }
        return (verdict, String(decoding: key, as: UTF8.self), String(decoding: path, as: UTF8.self))
    }

    @Test("path normalization", arguments: [
        ("/products/1", "/products/1"),
        ("/products/%31", "/products/1"),
        ("/%7euser/%7Bx%7d", "/~user/%7Bx%7D"),
        ("/{tag}/x", "/%7Btag%7D/x"),
        ("/a%2fb", "/a%2Fb"),
        ("/a//b///c", "/a/b/c"),
        ("/a/./b/../c", "/a/c"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/%2e%2e/secret", "/secret"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/", "/"),
        ("/dir/", "/dir/"),
        ("/caf\\xC3\\xA9", "/caf%C3%A9"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/50%", "/50%25"),
        ("/x%zz", "/x%25zz"),
        ("/say\\\"hi\\\"", "/say%22hi%22"),
        ("/p?utm=1&session=secret", "/p"),
        ("/p#frag", "/p"),
        ("/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="),
    ])
    func normalize(target: String, expected: String) {
        let builder = KeyBuilder()
        let (outcome, key, path) = Self.build(builder, target)
        #expect(outcome == .key, "\(target)")
        #expect(key == expected, "\(target)")
        #expect(path == expected)
    }

    @Test("targets that give no key", arguments: [
        ("/bad\\x0Apath", RequestFilter.Reason.forbiddenByte),
        ("/tab\\x09", .forbiddenByte),
        ("/nul\\x00", .forbiddenByte),
        ("/del\\x7F", .forbiddenByte),
        ("*", .badRequest),
        ("products/1", .badRequest),
        ("http://evil.example/x", .absoluteForm),
        ("HTTPS://evil.example", .absoluteForm),
    ])
    func rejected(target: String, reason: RequestFilter.Reason) {
        #expect(Self.build(KeyBuilder(), target).0 == .skipped(reason), "\(target)")
    }

    @Test("kept query parameters are normalized and sorted")
    func query() throws {
        let all = KeyBuilder(queryPolicy: .all)
        #expect(Self.build(all, "/s?b=2&a=1").1 == "/s?a=1&b=2")
        #expect(Self.build(all, "/s?a=1&b=2").1 == "/s?a=1&b=2")
        #expect(Self.build(all, "/s?q=caf%c3%a9&&a=%41").1 == "/s?a=A&q=caf%C3%A9")
        #expect(Self.build(all, "/s?a=2&a=1").1 == "/s?a=1&a=2")
        #expect(Self.build(all, "/s?").1 == "/s")
        // The query ends at a fragment; a `#` before any `?` ends the path and there is no query.
        #expect(Self.build(all, "/s?b=2&a=1#x?c=3").1 == "/s?a=1&b=2")
        #expect(Self.build(all, "/s#x?c=3").1 == "/s")
        #expect(Self.build(all, "/s\\x3Fb=2").1 == "/s?b=2")  // a decoded `?` starts the query
        #expect(Self.build(all, "/a/b/c/d/e/f/g/h?z=1&y=2").1 == "/a/b/c/d/e/f/g/h?y=2&z=1")  // `?` past 16 bytes
        #expect(Self.build(all, "/a/b/c/d/e/f/g/h/i/j/k/l#frag").1 == "/a/b/c/d/e/f/g/h/i/j/k/l")
        let some = KeyBuilder(queryPolicy: try QueryPolicy(parsing: "page,sort"))
        #expect(Self.build(some, "/c?sort=price&session=x&page=2").1 == "/c?page=2&sort=price")
        #expect(Self.build(some, "/c?session=x").1 == "/c")
        #expect(try QueryPolicy(parsing: "none") == .none)
    }

    @Test("rules: first match wins, $1 and ${name}, unmatched requests are not counted")
    func rules() throws {
        let builder = KeyBuilder(rules: [
            try KeyRule(#"^/products/(\d+)$ => product:$1"#),
            try KeyRule(#"^/users/(?<id>\d+)/(?<tab>[a-z]+)$ => user:${id}:${tab}"#),
            try KeyRule(#"^/products/(.*)$ => other:$1"#),
        ])
        let product = Self.build(builder, "/products/%31%32?x=1")
        #expect(product.0 == .key && product.1 == "product:12" && product.2 == "/products/12")
        #expect(builder.captures(ofPath: product.2) == ["12"])
        let user = Self.build(builder, "/users/7/profile")
        #expect(user.1 == "user:7:profile")
        #expect(builder.captures(ofPath: user.2) == ["7", "profile"])
        #expect(Self.build(builder, "/products/new").1 == "other:new")
        #expect(builder.captures(ofPath: "/products/new") == ["new"])  // the first rule that matches
        #expect(Self.build(builder, "/about").0 == .skipped(.noRule))
        #expect(builder.captures(ofPath: "/about") == nil)
        // The regex must match the whole path, not a part of it.
        #expect(Self.build(builder, "/x/products/1").0 == .skipped(.noRule))
    }

    /// A ranked key's captures come back from its representative path when a rule keys it;
    /// nil for a path no rule keys, and for every path without rules.
    /// (CaptureRecoveryTests checks that the batch and live analyses fill them in.)
    @Test("captures recovered from representative paths")
    func recoverCaptures() throws {
        let builder = KeyBuilder(rules: [
            try KeyRule(#"^/products/(\d+)$ => product:$1"#),
            try KeyRule(#"^/users/(?<id>\d+)(?:/(?<tab>[a-z]+))?$ => user:${id}$2"#),
        ])
        let paths = ["/products/12", "/users/7/profile", "/users/8", "/about"]
        #expect(paths.map { builder.captures(ofPath: $0) } == [["12"], ["7", "profile"], ["8", ""], nil])
        #expect(KeyBuilder().captures(ofPath: "/products/12") == nil)
    }

    @Test("a URL cannot pick the cluster slot: braces from the path are encoded, the template's stay")
    func hashTags() throws {
        let builder = KeyBuilder(rules: [try KeyRule(#"^/p/(.+)$ => {product}:$1"#)])
        let (outcome, key, _) = Self.build(builder, "/p/{evil}x")
        #expect(outcome == .key)
        #expect(key == "{product}:%7Bevil%7Dx")
        #expect(!key.dropFirst(9).contains("{"))
    }

    @Test("excludes match anywhere in the normalized path")
    func excludes() throws {
        let builder = KeyBuilder(excludes: [try Pattern(#"^/static/"#, wholeSubject: false, what: "--exclude"), try Pattern(#"\.php$"#, wholeSubject: false, what: "--exclude")])
        #expect(Self.build(builder, "/static/app.js").0 == .skipped(.excluded))
        #expect(Self.build(builder, "/a/../static/app.js").0 == .skipped(.excluded))
        #expect(Self.build(builder, "/wp-login.php?x").0 == .skipped(.excluded))
        #expect(Self.build(builder, "/products/1").0 == .key)
    }

    @Test("keys longer than the limit are skipped")
    func tooLong() {
        let builder = KeyBuilder(maxKeyBytes: 10)
        #expect(Self.build(builder, "/0123456789").0 == .skipped(.keyTooLong))
        #expect(Self.build(builder, "/012345678").0 == .key)
    }

    @Test("rule errors name the rule", arguments: [
        ("^/x$", "expected 'REGEX => TEMPLATE'"),
        ("^/(x$ => k:$1", "missing closing parenthesis"),
        ("^/(x)$ => k:$2", "has only 1"),
        ("^/(x)$ => k:${nope}", "no group (?<nope>"),
        ("^/(x)$ => k $1", "space or control character"),
        ("^/(x)$ => k:$", "group number or {name}"),
        ("^/(x)$ => k:${-1}", "no group (?<-1>"),  // found by the rule fuzzer: a negative group index crashed
    ])
    func ruleErrors(rule: String, expected: String) {
        do {
            _ = try KeyRule(rule)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.contains(rule))
        }
    }

    @Test("status and method filters")
    func filters() throws {
        var filter = RequestFilter()
        try filter.setStatus("2xx,304,410")
        #expect(filter.statusClasses[2] && filter.statusCodes == [304, 410])
        #expect(throws: KeyError.self) { try filter.setStatus("2xx,abc") }
        #expect(throws: KeyError.self) { try filter.setStatus("") }
        try filter.setMethods("get, HEAD")
        #expect(filter.methods == [Array("GET".utf8), Array("HEAD".utf8)])
    }

    /// The method check compares packed words for up to four methods of 1…7 bytes and walks the
    /// list otherwise; both must agree with plain byte comparison.
    @Test("method check: packed words and the fallback list agree with byte comparison")
    func methodCheck() throws {
        func verdict(_ filter: RequestFilter, _ method: String) -> Bool {
            var fields = RequestFields()
            fields.status = 200
            return Array(method.utf8).withUnsafeBytes { bytes in
                fields.method = bytes
                return filter.check(fields) == nil
            }
        }
        let methods = ["GET", "HEAD", "POST", "G", "GE", "GETX", "get", "OPTIONS", "PROPFIND", "VERYLONGMETHOD", "", "GET "]
        for list in ["GET", "GET,HEAD", "GET,HEAD,POST,OPTIONS", "GET,HEAD,POST,OPTIONS,PUT", "PROPFIND,GET", "VERYLONGMETHOD"] {
            var filter = RequestFilter()
            try filter.setMethods(list)
            let allowed = Set(list.split(separator: ",").map(String.init))
            for method in methods {
                #expect(verdict(filter, method) == allowed.contains(method), "\(method) with --methods \(list)")
            }
        }
    }

    /// The host and time checks (out of line, asked only when set): the host without case, the
    /// time from `$time_local` or ISO 8601 against `since` (inclusive) and `until` (exclusive), a
    /// missing or unreadable time or host turned away; with neither set, any host and time count.
    @Test func hostAndTimeChecks() {
        func verdict(_ filter: RequestFilter, host: String?, time: String?, iso: Bool = false) -> RequestFilter.Reason? {
            var fields = RequestFields()
            fields.method = nil
            fields.status = 200
            fields.timeIsISO8601 = iso
            let hostBytes = Array((host ?? "").utf8), timeBytes = Array((time ?? "").utf8)
            return hostBytes.withUnsafeBytes { h in
                timeBytes.withUnsafeBytes { t in
                    if host != nil { fields.host = h }
                    if time != nil { fields.time = t }
                    return filter.check(fields)
                }
            }
        }
        let open = RequestFilter()
        #expect(verdict(open, host: nil, time: nil) == nil)
        var filter = RequestFilter()
        filter.host = Array("shop.example.com".utf8)
        #expect(verdict(filter, host: "Shop.Example.COM", time: nil) == nil)
        #expect(verdict(filter, host: "shop.example.org", time: nil) == .host)
        #expect(verdict(filter, host: "shop.example.co", time: nil) == .host)
        #expect(verdict(filter, host: nil, time: nil) == .host)
        filter.host = nil
        filter.since = 1_795_000_000  // 2026-11-18T11:06:40Z
        filter.until = 1_795_000_060
        #expect(verdict(filter, host: nil, time: "18/Nov/2026:11:06:40 +0000") == nil)
        #expect(verdict(filter, host: nil, time: "18/Nov/2026:11:06:39 +0000") == .time)
        #expect(verdict(filter, host: nil, time: "18/Nov/2026:11:07:40 +0000") == .time)
        #expect(verdict(filter, host: nil, time: "2026-11-18T12:07:39+01:00", iso: true) == nil)
        #expect(verdict(filter, host: nil, time: "not a time") == .time)
        #expect(verdict(filter, host: nil, time: nil) == .time)
        // Each bound alone, and the host and a time together.
        var since = RequestFilter()
        since.since = 1_795_000_000
        #expect(verdict(since, host: nil, time: "18/Nov/2026:11:06:39 +0000") == .time)
        #expect(verdict(since, host: nil, time: "18/Nov/2027:11:06:39 +0000") == nil)
        var until = RequestFilter()
        until.until = 1_795_000_060
        #expect(verdict(until, host: nil, time: "18/Nov/2026:11:07:40 +0000") == .time)
        #expect(verdict(until, host: nil, time: "18/Nov/2025:11:07:40 +0000") == nil)
        var both = until
        both.host = Array("shop.example.com".utf8)
        #expect(verdict(both, host: "shop.example.com", time: "18/Nov/2025:11:07:40 +0000") == nil)
        #expect(verdict(both, host: "other.example.com", time: "18/Nov/2025:11:07:40 +0000") == .host)
        #expect(verdict(both, host: "shop.example.com", time: "18/Nov/2026:11:07:40 +0000") == .time)
    }

    /// A method packed into one word (loads that overlap, no loop) holds its bytes and length:
    /// the word a byte-by-byte loop builds, for every length around 1…7 and every byte value.
    @Test func methodWordsMatchAByteLoop() {
        var rng = SystemRandomNumberGenerator()
        for length in 0...9 {
            for _ in 0..<300 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var want: UInt64 = 0
                if (1...7).contains(length) {
                    want = UInt64(length) << 56
                    for (i, b) in bytes.enumerated() { want |= UInt64(b) << (8 * UInt64(i)) }
                }
                // The bytes in the middle of a larger buffer: nothing outside them may be read in.
                let padded = [UInt8](repeating: 0xAA, count: 8) + bytes + [UInt8](repeating: 0x55, count: 8)
                let got = padded.withUnsafeBytes { RequestFilter.pack(UnsafeRawBufferPointer(rebasing: $0[8..<(8 + length)])) }
                #expect(got == want, "\(bytes)")
            }
        }
    }

    /// The 16-bytes-at-a-time check that a path is already normal says what a byte loop over
    /// `isPlain` and the slash pairs says: every byte value at every position of paths of 1…49
    /// bytes (short ones go byte by byte, longer ones by blocks, the last block overlapping), a
    /// `//` or `/.` at every position (across block edges too), and random paths of the bytes
    /// that matter.
    @Test func normalPathCheckMatchesAByteLoop() {
        func reference(_ bytes: [UInt8]) -> Bool {
            var previousSlash = false
            for b in bytes {
                if !PathNormalizer.isPlain(b) || (previousSlash && (b == 0x2F || b == 0x2E)) { return false }
                previousSlash = b == 0x2F
            }
            return true
        }
        func check(_ bytes: [UInt8]) {
            // In the middle of a buffer whose other bytes would fail the check if they were read.
            let padded = [UInt8](repeating: 0x25, count: 16) + bytes + [UInt8](repeating: 0x25, count: 16)
            let got = padded.withUnsafeBytes { PathNormalizer.isNormalPath(UnsafeRawBufferPointer(rebasing: $0[16..<(16 + bytes.count)])) }
            #expect(got == reference(bytes), "\(bytes)")
            // The path's end (first `?` or `#`) when the path before it is normal, in one pass.
            let cut = bytes.firstIndex { $0 == 0x3F || $0 == 0x23 } ?? bytes.count
            let end = padded.withUnsafeBytes { PathNormalizer.normalPathEnd(UnsafeRawBufferPointer(rebasing: $0[16..<(16 + bytes.count)])) }
            #expect(end == (reference(Array(bytes[0..<cut])) ? cut : nil), "path end of \(bytes)")
        }
        var plainPaths = 0
        for length in 1...49 {
            let base = [UInt8(0x2F)] + [UInt8](repeating: 0x61, count: length - 1)
            check(base)
            for position in 0..<length {
                for value in 0...255 {
                    var bytes = base
                    bytes[position] = UInt8(value)
                    check(bytes)
                    if reference(bytes) { plainPaths += 1 }
                }
                if position + 1 < length {
                    for second: UInt8 in [0x2F, 0x2E, 0x61] {
                        var bytes = base
                        bytes[position] = 0x2F
                        bytes[position + 1] = second
                        check(bytes)
                    }
                }
            }
        }
        #expect(plainPaths > 49 * 40)  // both answers were given many times
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x2F, 0x2E, 0x61, 0x7E, 0x25, 0x7B, 0x3F, 0x23, 0x20, 0x80]
        for _ in 0..<20_000 {
            let length = Int.random(in: 1...40, using: &rng)
            check((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
        }
    }

    @Test("the literal prefix a rule's matches start with", arguments: [
        (#"^/products/(\d+)$"#, true, "/products/"),
        (#"/products/(\d+)"#, true, "/products/"),
        (#"/products/(\d+)"#, false, ""),
        (#"^/static/"#, false, "/static/"),
        (#"^\/api\/v1\/(.*)$"#, true, "/api/v1/"),
        (#"^/items?/(\d+)$"#, true, "/item"),
        (#"^/ab*c"#, true, "/a"),
        (#"^/a{2}"#, true, "/"),
        (#"^/a.b"#, true, "/a"),
        (#"^/a|/b"#, true, ""),
        (#"^/a/(x|y)$"#, true, "/a/"),
        (#"^/a/[|]$"#, true, "/a/"),
        (#"^/a/[]|]$"#, true, "/a/"),
        (#"^/a/\|b$"#, true, "/a/|b"),
        (#"(?i)^/A/"#, true, ""),
        (#"^(?i)/A/"#, true, ""),
        (#"^/a\Q|\E"#, true, ""),
        (#"^/a[[:digit:]]"#, true, ""),
        (#"^/a(?#|)b"#, true, ""),
        (#"^/a\d"#, true, "/a"),
        (#"^/caf\x{e9}"#, true, "/caf"),
    ])
    func literalPrefix(pattern: String, anchored: Bool, expected: String) {
        #expect(Pattern.literalPrefix(pattern, anchored: anchored) == Array(expected.utf8), "\(pattern)")
    }

    @Test("rules of the shape LITERAL(\\d+)LITERAL are matched without PCRE2", arguments: [
        (#"^/products/(\d+)$"#, "/products/", ""),
        (#"/users/(\d+)/profile"#, "/users/", "/profile"),
        (#"^\/u\/([0-9]+)\.json$"#, "/u/", ".json"),
        (#"^(\d+)$"#, "", ""),
    ])
    func digitsShape(pattern: String, prefix: String, suffix: String) {
        let shape = Pattern.digitsShape(pattern)
        #expect(shape?.prefix == Array(prefix.utf8) && shape?.suffix == Array(suffix.utf8), "\(pattern)")
    }

    @Test("other patterns are left to PCRE2", arguments: [
        #"^/p/(\d+)1$"#, #"^/p/(\d*)$"#, #"^/p/(\d+)?$"#, #"^/p/(\d+)/x+$"#, #"^/p/(\d+)$x"#, #"^/p/(?<id>\d+)$"#,
        #"^/p/(\d+)|/q$"#, #"^/p/(\w+)$"#, #"^/p/\Q(\d+)$"#, #"^/a?/(\d+)$"#, #"^/p/(\d+)(x)$"#,
    ])
    func notDigitsShape(pattern: String) {
        #expect(Pattern.digitsShape(pattern) == nil, "\(pattern)")
    }

    /// Turning subjects away by the literal prefix, and matching `LITERAL(\d+)LITERAL` rules
    /// without PCRE2, give PCRE2's answers and groups: each pattern against the same pattern in
    /// a non-capturing group (which has neither, so PCRE2 decides), on subjects that share all,
    /// part or none of the prefix, digits or not, the suffix or not.
    @Test func literalPrefixAgreesWithPCRE2() throws {
        let patterns = [#"^/products/(\d+)$"#, #"^/items?/(\d+)$"#, #"^\/api\/v1\/(.*)$"#, #"^/ab*c"#, #"^/a/(x|y)$"#, #"^/static/"#,
                        #"^/users/(\d+)/profile$"#, #"^/u/([0-9]+)\.json$"#, #"^/p/(\d+)1$"#, #"^(\d+)$"#]
        let subjects = ["/products/1", "/products/", "/products", "/product/1", "/products/12a", "/products/0123456789", "/products/1/",
                        "/item/7", "/items/7", "/ite/7", "/api/v1/x", "/api/v2/x", "/ac", "/abbbc", "/a", "/a/x", "/a/z",
                        "/static/s.css", "/stat", "", "/", "x/products/1", "/users/42/profile", "/users/42/profiles", "/users//profile",
                        "/users/4x2/profile", "/u/7.json", "/u/7xjson", "/u/.json", "/p/121", "/p/1", "/p/11", "12345", "12a"]
        var turnedAway = 0
        var matched = 0
        for source in patterns {
            for whole in [true, false] {
                let fast = try Pattern(source, wholeSubject: whole, what: "test")
                let reference = try Pattern("(?:" + source + ")", wholeSubject: whole, what: "test")
                let prefix = Pattern.literalPrefix(source, anchored: whole)
                for subject in subjects {
                    var bytes = Array(subject.utf8)
                    let (got, want, groups) = bytes.withUnsafeMutableBytes { raw in
                        let got = fast.matches(UnsafeRawBufferPointer(raw)), want = reference.matches(UnsafeRawBufferPointer(raw))
                        let groups = (0...fast.captureCount).map { (fast.group($0), reference.group($0)) }
                        return (got, want, groups)
                    }
                    #expect(got == want, "\(source) on '\(subject)'")
                    if got && want {
                        matched += 1
                        for (index, (a, b)) in groups.enumerated() { #expect(a == b, "\(source) on '\(subject)': group \(index)") }
                    }
                    if !subject.utf8.starts(with: prefix) { turnedAway += 1 }
                }
            }
        }
        #expect(turnedAway > 50 && matched > 20)  // the prefix turned many subjects away, and many matched
    }

    /// The digits of a `LITERAL(\d+)LITERAL` rule are checked in one word when there are at most 8
    /// and the subject has 8 bytes up to their end, else byte by byte: runs of 0 to 11 digits, each
    /// with one byte at every place changed to a byte around the digits (`/`, `:`, a letter, a byte
    /// above 0x7F, a byte whose top bit hides a digit), behind prefixes of 0 to 10 bytes and before
    /// a suffix or none, give PCRE2's answers and groups.
    @Test func digitRunsOfEveryLengthAgreeWithPCRE2() throws {
        for (source, prefix, suffix) in [(#"^/products/(\d+)$"#, "/products/", ""), (#"^(\d+)$"#, "", ""), (#"^/p/(\d+)/profile$"#, "/p/", "/profile"),
                                         (#"^/u/([0-9]+)\.json$"#, "/u/", ".json")] {
            let fast = try Pattern(source, wholeSubject: true, what: "test")
            let reference = try Pattern("(?:" + source + ")", wholeSubject: true, what: "test")
            var matched = 0
            for length in 0...11 {
                let digits = (0..<length).map { UInt8(ascii: "0") + UInt8(($0 * 7 + length) % 10) }
                var runs = [digits]
                for place in 0..<length {
                    for byte: UInt8 in [0x2F, 0x3A, 0x61, 0xB5, 0xC0, 0xFF, 0x20] {
                        var run = digits
                        run[place] = byte
                        runs.append(run)
                    }
                }
                for run in runs {
                    var bytes = Array(prefix.utf8) + run + Array(suffix.utf8)
                    let (got, want, groups) = bytes.withUnsafeMutableBytes { raw in
                        let got = fast.matches(UnsafeRawBufferPointer(raw)), want = reference.matches(UnsafeRawBufferPointer(raw))
                        return (got, want, (0...1).map { (fast.group($0), reference.group($0)) })
                    }
                    #expect(got == want, "\(source) on \(bytes)")
                    if got && want {
                        matched += 1
                        for (a, b) in groups { #expect(a == b, "\(source) on \(bytes)") }
                    }
                }
            }
            #expect(matched == 11, "\(source): each run of 1 to 11 digits, and no changed one")
        }
    }

    /// No key or path ever holds a control byte, a space or DEL, whatever the target (raw bytes
    /// or the log's `\xHH` escapes of any value, in the path or the query): rules append
    /// captures without looking at their bytes, and keys go into protocols that forbid them.
    @Test func keysNeverHoldControlBytesOrSpaces() throws {
        let builders = [
            KeyBuilder(rules: [try KeyRule(#"^/(.*)$ => k:$1"#)], queryPolicy: .all),
            KeyBuilder(rules: [try KeyRule(#"^/p/(\d+)(.*)$ => p:$1:$2"#)], queryPolicy: .all),
            KeyBuilder(queryPolicy: .all),
        ]
        var rng = SplitMix(seed: 7)
        let pieces = ["/", "/p/", "12", "?", "&", "=", "#", "%", "%2", "%20", "%7F", "%0a", "a", " ", "\u{7F}", "\u{01}", "\t", "é"]
        var keys = 0
        for _ in 0..<20_000 {
            var target = ""
            for _ in 0..<Int(rng.next() % 8 + 1) {
                if rng.next() % 4 == 0 {
                    let value = String(rng.next() % 256, radix: 16, uppercase: true)
                    target += "\\x" + (value.count == 1 ? "0" + value : value)
                } else {
                    target += pieces[Int(rng.next() % UInt64(pieces.count))]
                }
            }
            for builder in builders {
                let (outcome, key, path) = Self.build(builder, "/" + target)
                guard outcome == .key else { continue }
                keys += 1
                let bad = Array(key.utf8).contains { $0 <= 0x20 || $0 == 0x7F } || Array(path.utf8).contains { $0 <= 0x20 || $0 == 0x7F }
                #expect(!bad, "'\(target)' gave key '\(key)'")
                if bad { return }
            }
        }
        #expect(keys > 10_000)
    }
}
