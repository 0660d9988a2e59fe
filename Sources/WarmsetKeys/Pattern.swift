import CPCRE2

/// A compiled PCRE2 regular expression (Perl syntax, as nginx's own `location ~` uses),
/// JIT-compiled where the platform allows, with one reusable match buffer.
///
/// Not thread-safe: the match data is shared between calls.
public final class Pattern {
    /// The pattern text as given.
    public let source: String
    /// The number of capture groups.
    public let captureCount: Int
    /// What matching needs (the compiled code, the match buffer, the literals), as a trivial value.
    let matcher: Matcher

    /// Compiles `source`.
    /// - Parameters:
    ///   - wholeSubject: anchor at both ends, so the pattern must match the whole subject.
    ///   - what: how to name the pattern in an error (`--rule`, `--exclude`).
    /// - Throws: `KeyError` with PCRE2's message and the offset of the problem.
    public init(_ source: String, wholeSubject: Bool, what: String) throws(KeyError) {
        self.source = source
        var errorCode: Int32 = 0
        var errorOffset = 0
        let options: UInt32 = wholeSubject ? UInt32(PCRE2_ANCHORED | PCRE2_ENDANCHORED) : 0
        let compiled: OpaquePointer? = source.withCString { text in
            text.withMemoryRebound(to: UInt8.self, capacity: source.utf8.count) { bytes in
                pcre2_compile_8(bytes, source.utf8.count, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            throw KeyError("\(what): \(Self.message(for: errorCode)) at character \(errorOffset + 1) of the regex '\(source)'")
        }
        let jit = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0  // else the interpreter
        var groups: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &groups)
        captureCount = Int(groups)
        guard let data = pcre2_match_data_create_from_pattern_8(compiled, nil) else {
            pcre2_code_free_8(compiled)
            throw KeyError("\(what): out of memory preparing the match for '\(source)'")
        }
        func keep(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            storage.copyBytes(from: bytes)
            return UnsafeRawBufferPointer(rebasing: storage[0..<bytes.count])
        }
        let shape = wholeSubject && captureCount == 1 ? Self.digitsShape(source) : nil
        matcher = Matcher(
            code: compiled, matchData: data, ovector: pcre2_get_ovector_pointer_8(data), jit: jit,
            prefix: keep(shape?.prefix ?? Self.literalPrefix(source, anchored: wholeSubject)),
            digitsGroup: shape != nil, suffix: keep(shape?.suffix ?? []))
    }

    deinit {
        matcher.prefix.deallocate()
        matcher.suffix.deallocate()
        pcre2_match_data_free_8(matcher.matchData)
        pcre2_code_free_8(matcher.code)
    }

    /// The group number of a named group `(?<name>…)`, or nil.
    public func groupNumber(named name: String) -> Int? {
        let number = name.withCString { text in
            text.withMemoryRebound(to: UInt8.self, capacity: name.utf8.count + 1) {
                pcre2_substring_number_from_name_8(matcher.code, $0)
            }
        }
        return number > 0 ? Int(number) : nil
    }

    /// Whether every match starts with known literal bytes (`literalPrefix`), so that
    /// `mayMatch` can turn subjects away.
    public var hasStartingLiteral: Bool { matcher.prefix.count > 0 }

    /// False when `subject` cannot match: it does not start with the pattern's starting literal.
    /// True says nothing more. Also true of any subject that has `subject` as a prefix.
    @inline(__always)
    public func mayMatch(_ subject: UnsafeRawBufferPointer) -> Bool { matcher.mayMatch(subject) }

    /// Matches `subject`; on success the groups are available from `group(_:)` until the next call.
    /// - Complexity: that of the pattern; no allocation.
    @inline(__always)
    public func matches(_ subject: UnsafeRawBufferPointer) -> Bool { matcher.matches(subject) }

    /// The byte range of group `index` (0 is the whole match) in the last matched subject.
    @inline(__always)
    public func group(_ index: Int) -> Range<Int>? { matcher.group(index) }

    /// A pattern's compiled code, match buffer and literals, as a value with no reference in it:
    /// the per-line loop (`KeyRuleSet`) keeps one per rule and matches through it, with no class
    /// reference to load, retain or pass to a closure. A view: valid while its `Pattern` lives,
    /// and it shares that pattern's match buffer (so the same thread rules apply).
    struct Matcher {
        let code: OpaquePointer
        let matchData: OpaquePointer
        let ovector: UnsafeMutablePointer<Int>
        /// JIT-compiled: matched with `pcre2_jit_match`, which skips the interpreter's checks.
        let jit: Bool
        /// The literal bytes every match starts with at the subject's start (`literalPrefix`): a
        /// subject that does not start with them is turned away without calling PCRE2.
        let prefix: UnsafeRawBufferPointer
        /// The pattern is `prefix`, a group of digits and `suffix` (`digitsShape`): matched here,
        /// without PCRE2.
        let digitsGroup: Bool
        let suffix: UnsafeRawBufferPointer
        // PCRE2 wants a non-null subject even when it is empty.
        nonisolated(unsafe) private static let emptySubject: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)

        /// See `Pattern.mayMatch`.
        @inline(__always)
        func mayMatch(_ subject: UnsafeRawBufferPointer) -> Bool {
            prefix.count == 0
                || (subject.count >= prefix.count && ShortBytes.equal(subject.baseAddress!, prefix.baseAddress!, prefix.count))
        }

        /// See `Pattern.matches`.
        @inline(__always)
        func matches(_ subject: UnsafeRawBufferPointer) -> Bool {
            guard mayMatch(subject) else { return false }
            if digitsGroup { return Self.matchDigitsGroup(subject, prefixCount: prefix.count, suffix: suffix, ovector: ovector) }
            let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(Self.emptySubject)
            if jit { return pcre2_jit_match_8(code, base, subject.count, 0, 0, matchData, nil) >= 0 }
            return pcre2_match_8(code, base, subject.count, 0, 0, matchData, nil) >= 0
        }

        /// `matches` for a pattern of `digitsShape` whose prefix (`prefixCount` bytes) the subject
        /// starts with: digits (one at least), then exactly `suffix`. Sets the whole match and group
        /// 1 in `ovector` as PCRE2 would. Static, with the fields it reads as arguments: a method
        /// would take the matcher by address, and the caller would copy it to the stack for that.
        @inline(__always)
        private static func matchDigitsGroup(
            _ subject: UnsafeRawBufferPointer, prefixCount: Int, suffix: UnsafeRawBufferPointer, ovector: UnsafeMutablePointer<Int>
        ) -> Bool {
            // The suffix does not start with a digit (`digitsShape`): the run of digits after the
            // prefix is the whole of what lies between the prefix and the suffix.
            let n = subject.count
            let end = n &- suffix.count
            guard end > prefixCount else { return false }
            let length = end &- prefixCount
            if length <= 8 && end >= 8 {
                // Up to 8 digits (nearly every id) checked in one word, the one that ends where they
                // do, no loop: a loop over the digits ended after a different number of bytes from
                // one id to the next, and the branch that ends it was mispredicted. Each byte b is a
                // digit when t = b ^ 0x30 is below 10: t's top bit clear, and t + 0x76 (on t without
                // its top bit, so that no byte carries into the next) below 0x80.
                let word = UInt64(littleEndian: subject.baseAddress!.loadUnaligned(fromByteOffset: end &- 8, as: UInt64.self))
                let t = word ^ 0x3030_3030_3030_3030
                let notDigit = (t | ((t & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080
                // The run is the word's top `length` bytes.
                let run: UInt64 = length == 8 ? ~0 : ~0 << (8 &* UInt64(8 &- length))
                guard notDigit & run == 0 else { return false }
            } else {
                var at = prefixCount
                while at < end {
                    guard subject[at] &- 0x30 < 10 else { return false }
                    at &+= 1
                }
            }
            if suffix.count > 0 && !ShortBytes.equal(subject.baseAddress! + end, suffix.baseAddress!, suffix.count) { return false }
            ovector[0] = 0
            ovector[1] = n
            ovector[2] = prefixCount
            ovector[3] = end
            return true
        }

        /// See `Pattern.group`.
        @inline(__always)
        func group(_ index: Int) -> Range<Int>? {
            let start = ovector[2 * index], end = ovector[2 * index + 1]
            guard start != warmset_pcre2_unset(), end >= start else { return nil }
            return start..<end
        }
    }

    /// The literal bytes that every match of `source` starts with at the start of the subject,
    /// read conservatively (empty when unsure): the pattern is anchored there (`anchored`, or a
    /// leading `^`) and has no `|` outside parentheses; after the `^`, letters, digits and
    /// punctuation that is no metacharacter are taken up to the first other byte, less the last
    /// one taken when that byte is a quantifier (`?`, `*`, `+`, `{`); an escaped punctuation byte
    /// (`\/`) is that byte. A pattern holding `\Q`,
    /// `(?#` or `[:` (quoting, comments, POSIX classes, which the scan for `|` does not read) has none.
    static func literalPrefix(_ source: String, anchored: Bool) -> [UInt8] {
        let b = Array(source.utf8)
        var i = 0
        if b.first == UInt8(ascii: "^") { i = 1 } else if !anchored { return [] }
        if source.contains("\\Q") || source.contains("(?#") || source.contains("[:") { return [] }
        // A `|` outside any group makes the pattern an alternation: no common prefix is known.
        var depth = 0
        var j = 0
        while j < b.count {
            switch b[j] {
            case UInt8(ascii: "\\"):
                j += 2
                continue
            case UInt8(ascii: "["):
                // A class: to its closing `]` (a `]` first in it, after an optional `^`, is a member).
                j += 1
                if j < b.count && b[j] == UInt8(ascii: "^") { j += 1 }
                if j < b.count && b[j] == UInt8(ascii: "]") { j += 1 }
                while j < b.count && b[j] != UInt8(ascii: "]") { j += b[j] == UInt8(ascii: "\\") ? 2 : 1 }
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth -= 1
            case UInt8(ascii: "|") where depth <= 0: return []
            default: break
            }
            j += 1
        }
        let (bytes, end) = literalRun(b, from: i)
        var out = bytes
        if end < b.count, [UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "{")].contains(b[end]), !out.isEmpty {
            out.removeLast()  // the quantifier applies to the last byte taken
        }
        return out
    }

    /// The literal bytes of `b` from `from` on: letters, digits and punctuation that is no
    /// metacharacter, and escaped punctuation (`\/` is `/`), up to the first other byte (at `end`).
    static func literalRun(_ b: [UInt8], from: Int) -> (bytes: [UInt8], end: Int) {
        func isLetterOrDigit(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        let plain = Array("/-_:,=&~%!@;'\"<>#` ".utf8)
        var out: [UInt8] = []
        var i = from
        while i < b.count {
            let c = b[i]
            if isLetterOrDigit(c) || plain.contains(c) {
                out.append(c)
                i += 1
            } else if c == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] > 0x20, b[i + 1] < 0x7F, !isLetterOrDigit(b[i + 1]) {
                out.append(b[i + 1])
                i += 2
            } else {
                break
            }
        }
        return (out, i)
    }

    /// For a whole-subject pattern of the shape `^LITERAL(\d+)LITERAL$` (`[0-9]` for `\d`, the
    /// `^` and `$` optional, the second literal not starting with a digit): its two literals.
    /// PCRE2 matches such a pattern exactly when the subject is the first literal, one or more
    /// ASCII digits (the group, as long as the run goes: no digit follows it) and the second
    /// literal, which is what `matches` then checks itself. Nil for any other pattern.
    static func digitsShape(_ source: String) -> (prefix: [UInt8], suffix: [UInt8])? {
        let b = Array(source.utf8)
        var i = b.first == UInt8(ascii: "^") ? 1 : 0
        let (prefix, afterPrefix) = literalRun(b, from: i)
        i = afterPrefix
        var group: [UInt8] = []
        for spelling in [Array(#"(\d+)"#.utf8), Array("([0-9]+)".utf8)] where b[i...].starts(with: spelling) { group = spelling }
        guard !group.isEmpty else { return nil }
        i += group.count
        let (suffix, end) = literalRun(b, from: i)
        guard end == b.count || (end == b.count - 1 && b[end] == UInt8(ascii: "$")) else { return nil }
        if let first = suffix.first, first >= 0x30 && first <= 0x39 { return nil }
        return (prefix, suffix)
    }

    private static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "error \(code)"
    }
}
