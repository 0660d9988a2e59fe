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
    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let ovector: UnsafeMutablePointer<Int>
    /// JIT-compiled: matched with `pcre2_jit_match`, which skips the interpreter's checks.
    private let jit: Bool
    /// The literal bytes every match starts with at the subject's start (`literalPrefix`): a
    /// subject that does not start with them is turned away without calling PCRE2.
    private let prefix: UnsafeMutableRawBufferPointer
    // PCRE2 wants a non-null subject even when it is empty.
    nonisolated(unsafe) private static let emptySubject: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)

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
        code = compiled
        jit = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0  // else the interpreter
        var groups: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &groups)
        captureCount = Int(groups)
        guard let data = pcre2_match_data_create_from_pattern_8(compiled, nil) else {
            pcre2_code_free_8(compiled)
            throw KeyError("\(what): out of memory preparing the match for '\(source)'")
        }
        matchData = data
        ovector = pcre2_get_ovector_pointer_8(data)
        let literal = Self.literalPrefix(source, anchored: wholeSubject)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(literal.count, 1), alignment: 8)
        storage.copyBytes(from: literal)
        prefix = UnsafeMutableRawBufferPointer(rebasing: storage[0..<literal.count])
    }

    deinit {
        prefix.deallocate()
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// The group number of a named group `(?<name>…)`, or nil.
    public func groupNumber(named name: String) -> Int? {
        let number = name.withCString { text in
            text.withMemoryRebound(to: UInt8.self, capacity: name.utf8.count + 1) {
                pcre2_substring_number_from_name_8(code, $0)
            }
        }
        return number > 0 ? Int(number) : nil
    }

    /// Matches `subject`; on success the groups are available from `group(_:)` until the next call.
    /// - Complexity: that of the pattern; no allocation.
    @inline(__always)
    public func matches(_ subject: UnsafeRawBufferPointer) -> Bool {
        if prefix.count > 0 {
            guard subject.count >= prefix.count, ShortBytes.equal(subject.baseAddress!, prefix.baseAddress!, prefix.count) else { return false }
        }
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(Self.emptySubject)
        if jit { return pcre2_jit_match_8(code, base, subject.count, 0, 0, matchData, nil) >= 0 }
        return pcre2_match_8(code, base, subject.count, 0, 0, matchData, nil) >= 0
    }

    /// The byte range of group `index` (0 is the whole match) in the last matched subject.
    @inline(__always)
    public func group(_ index: Int) -> Range<Int>? {
        let start = ovector[2 * index], end = ovector[2 * index + 1]
        guard start != warmset_pcre2_unset(), end >= start else { return nil }
        return start..<end
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
        func isLetterOrDigit(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        let plain = Array("/-_:,=&~%!@;'\"<>#` ".utf8)
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if isLetterOrDigit(c) || plain.contains(c) {
                out.append(c)
                i += 1
            } else if c == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] > 0x20, b[i + 1] < 0x7F, !isLetterOrDigit(b[i + 1]) {
                out.append(b[i + 1])  // `\/`, `\.`: an escaped punctuation byte is itself
                i += 2
            } else {
                if c == UInt8(ascii: "?") || c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "{"), !out.isEmpty {
                    out.removeLast()  // the quantifier applies to the last byte taken
                }
                break
            }
        }
        return out
    }

    private static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "error \(code)"
    }
}
