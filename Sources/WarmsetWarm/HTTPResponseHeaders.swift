/// The header lines of a response, kept as the bytes that came (one copy, no list of strings
/// built per response) and looked up by name when asked: a warm run asks for a few headers of
/// each response, most of which it does not have.
public struct HTTPResponseHeaders: Sendable, CustomStringConvertible {
    /// The header lines, each ending in LF (or CRLF), without the status line or the empty line
    /// that ends the head.
    private let bytes: [UInt8]

    /// Headers from their raw lines, as `HTTPResponseParser` found them.
    init(lines: UnsafeRawBufferPointer) { bytes = Array(lines) }

    /// Headers from `(name, value)` pairs.
    public init(_ pairs: [(String, String)] = []) {
        bytes = Array(pairs.map { "\($0.0): \($0.1)\r\n" }.joined().utf8)
    }

    /// Header names looked up together, in one pass over the lines (`first(oneOf:)`), their
    /// ASCII letters lowercased once.
    public struct Names: Sendable {
        fileprivate let names: [[UInt8]]

        /// `names`, the first of them the most wanted.
        public init(_ names: [String]) { self.names = names.map { Array($0.lowercased().utf8) } }
    }

    /// The value of the first header named `name` (ASCII case ignored), without the spaces or
    /// tabs around it; nil when there is none.
    /// - Complexity: O(*n*) in the bytes of the header lines.
    public func first(name: String) -> String? { first(oneOf: Names([name]))?.value }

    /// Of the headers named in `names` that the response has, the first-wanted one (the lowest
    /// index in `names`; its first line when it repeats) and its value, trimmed.
    /// - Complexity: O(*n*) in the bytes of the header lines, one pass whatever the names.
    public func first(oneOf names: Names) -> (index: Int, value: String)? {
        var best: (index: Int, value: Range<Int>)?
        forEachLine { line, name, value in
            for (index, wanted) in names.names.enumerated() where index < (best?.index ?? .max) && wanted.count == name.count {
                if wanted.withUnsafeBytes({ Self.equalIgnoringCase(UnsafeRawBufferPointer(rebasing: line[name]), $0) }) { best = (index, value) }
            }
        }
        guard let best else { return nil }
        return (best.index, bytes.withUnsafeBytes { String(decoding: $0[best.value], as: UTF8.self) })
    }

    /// Every header as `(name, value)`, in order.
    public var pairs: [(String, String)] {
        var pairs: [(String, String)] = []
        forEachLine { line, name, value in
            pairs.append((String(decoding: line[name], as: UTF8.self), String(decoding: line[value], as: UTF8.self)))
        }
        return pairs
    }

    public var description: String { pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") }

    /// Calls `body` with the bytes and each line's name and value (trimmed) as offsets in them.
    /// Lines without a colon (which the parser does not let through) are skipped.
    private func forEachLine(_ body: (UnsafeRawBufferPointer, Range<Int>, Range<Int>) -> Void) {
        bytes.withUnsafeBytes { all in
            var start = 0
            while start < all.count {
                let end = HTTPResponseParser.find(UInt8(ascii: "\n"), in: all, start..<all.count) ?? all.count
                defer { start = end + 1 }
                guard let colon = HTTPResponseParser.find(UInt8(ascii: ":"), in: all, start..<end) else { continue }
                body(all, start..<colon, HTTPResponseParser.trimmed(all, colon + 1..<end))
            }
        }
    }

    /// Whether `a` and `b` are the same bytes, ASCII letters compared without case.
    static func equalIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] {
            // Bytes that differ are equal only as a letter's two cases, 0x20 apart.
            let lower = a[i] | 0x20
            guard lower == b[i] | 0x20, lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z") else { return false }
        }
        return true
    }
}
