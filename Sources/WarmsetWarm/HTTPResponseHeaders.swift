/// The header lines of a response, kept as the bytes that came (one copy, no list of strings
/// built per response) and looked up by name when asked: a warm run asks for two or three
/// headers of each response, most of which it does not have.
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

    /// The value of the first header named `name` (ASCII case ignored), without the spaces or
    /// tabs around it; nil when there is none.
    /// - Complexity: O(*n*) in the bytes of the header lines.
    public func first(name: String) -> String? {
        var found: String?
        forEach { lineName, value in
            guard found == nil, Self.equalIgnoringCase(lineName, name.utf8) else { return }
            found = String(decoding: value, as: UTF8.self)
        }
        return found
    }

    /// Every header as `(name, value)`, in order.
    public var pairs: [(String, String)] {
        var pairs: [(String, String)] = []
        forEach { name, value in pairs.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))) }
        return pairs
    }

    public var description: String { pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") }

    /// Calls `body` with each line's name and value (trimmed of spaces and tabs). Lines without
    /// a colon (which the parser does not let through) are skipped.
    private func forEach(_ body: (Slice<UnsafeRawBufferPointer>, Slice<UnsafeRawBufferPointer>) -> Void) {
        bytes.withUnsafeBytes { all in
            var start = 0
            while start < all.count {
                var end = start
                while end < all.count && all[end] != UInt8(ascii: "\n") { end += 1 }
                let line = HTTPResponseParser.trimmed(all[start..<end])
                start = end + 1
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                body(line[line.startIndex..<colon], HTTPResponseParser.trimmed(line[(colon + 1)...]))
            }
        }
    }

    /// Whether `a` and `b` are the same bytes, ASCII letters compared without case.
    static func equalIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            // Bytes that differ are equal only as a letter's two cases, 0x20 apart.
            let lower = x | 0x20
            guard lower == y | 0x20, lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z") else { return false }
        }
        return true
    }
}
