import Foundation
import WarmsetFormat

/// What the tests compare: the fields warmset reads from a line, as strings.
struct ParsedLine: Equatable, CustomStringConvertible {
    var method: String?
    var target: String?
    var status: Int
    var bytes: Int64
    var time: String?

    var description: String { "\(method ?? "nil") \(target ?? "nil") \(status) \(bytes) \(time ?? "nil")" }

    init(method: String?, target: String?, status: Int, bytes: Int64, time: String?) {
        self.method = method
        self.target = target
        self.status = status
        self.bytes = bytes
        self.time = time
    }

    init(_ fields: RequestFields) {
        func text(_ b: UnsafeRawBufferPointer?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
        method = text(fields.method)
        target = fields.badRequestLine ? nil : text(fields.target)
        status = fields.status
        bytes = fields.bytes
        time = text(fields.time)
    }
}

/// A slow, obviously correct parser for the combined format: one regular expression.
enum ReferenceCombined {
    static let regex = try! NSRegularExpression(
        pattern: #"^(\S+) (-) (.*?) \[([^\]]*)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$"#,
        options: [.dotMatchesLineSeparators])

    /// nil when the line does not match.
    static func parse(_ line: [UInt8]) -> ParsedLine? {
        // Latin-1 keeps one character per byte, so offsets and bytes survive the round trip.
        let text = String(line.map { Character(Unicode.Scalar($0)) })
        let ns = text as NSString
        guard let m = regex.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) else { return nil }
        func group(_ i: Int) -> String { ns.substring(with: m.range(at: i)) }
        func bytes(_ s: String) -> String { String(decoding: s.unicodeScalars.map { UInt8($0.value) }, as: UTF8.self) }
        let request = group(5)
        let parts = request.split(separator: " ", omittingEmptySubsequences: false)
        var method: String?
        var target: String?
        if parts.count >= 2, !parts[0].isEmpty {
            method = bytes(String(parts[0]))
            var rest = Array(parts.dropFirst())
            if rest.count >= 2, rest[rest.count - 1].hasPrefix("HTTP/") { rest.removeLast() }
            let joined = rest.joined(separator: " ")
            if !joined.isEmpty { target = bytes(joined) }
        }
        let byteText = group(7)
        return ParsedLine(
            method: method, target: target, status: Int(group(6)) ?? -1,
            bytes: byteText == "-" ? 0 : Int64(byteText) ?? -1, time: group(4))
    }
}
