/// A key rule: `REGEX => TEMPLATE`. The regex must match the whole request path; the
/// template builds the cache key from literal text and the captures (`$1`, `${name}`).
public final class KeyRule {
    /// A piece of the template.
    enum Piece {
        case literal([UInt8])
        case group(Int)
    }

    /// The rule as written.
    public let source: String
    /// The compiled regex.
    public let pattern: Pattern
    let pieces: [Piece]
    /// The template's literal bytes (for the key's namespace).
    public let template: String

    /// Parses `REGEX => TEMPLATE`.
    /// - Throws: `KeyError` naming the rule when the arrow is missing, the regex does not
    ///   compile, a capture is referenced that the regex lacks, or the template holds a
    ///   space or control byte (keys never may).
    public init(_ source: String) throws(KeyError) {
        self.source = source
        guard let arrow = source.firstRange(of: " => ") ?? source.firstRange(of: "=>") else {
            throw KeyError("--rule '\(source)': expected 'REGEX => TEMPLATE', e.g. '^/products/(\\d+)$ => product:$1'")
        }
        let regex = source[..<arrow.lowerBound].trimmingSpaces
        let template = source[arrow.upperBound...].trimmingSpaces
        guard !regex.isEmpty else { throw KeyError("--rule '\(source)': the regex before '=>' is empty") }
        guard !template.isEmpty else { throw KeyError("--rule '\(source)': the template after '=>' is empty") }
        self.template = template
        pattern = try Pattern(regex, wholeSubject: true, what: "--rule '\(source)'")
        pieces = try Self.compileTemplate(template, rule: source, pattern: pattern)
    }

    static func compileTemplate(_ template: String, rule: String, pattern: Pattern) throws(KeyError) -> [Piece] {
        let bytes = Array(template.utf8)
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        var i = 0
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(literal)); literal = [] }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b <= 0x20 || b == 0x7F {
                throw KeyError("--rule '\(rule)': the template holds a space or control character, which no cache key may contain")
            }
            guard b == 0x24 else { literal.append(b); i += 1; continue }
            // `$$` is a literal dollar.
            if i + 1 < bytes.count && bytes[i + 1] == 0x24 { literal.append(0x24); i += 2; continue }
            var group: Int?
            if i + 1 < bytes.count && bytes[i + 1] == 0x7B {
                guard let close = bytes[(i + 2)...].firstIndex(of: 0x7D) else {
                    throw KeyError("--rule '\(rule)': '${' in the template is not closed with '}'")
                }
                let name = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                if !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(name) {
                    group = number  // digits only: `${-1}` or `${+1}` is not a group number
                } else if let number = pattern.groupNumber(named: name) {
                    group = number
                } else {
                    throw KeyError("--rule '\(rule)': the template uses ${\(name)} but the regex has no group (?<\(name)>…)")
                }
                i = close + 1
            } else {
                var j = i + 1
                var number = 0
                while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39, j - i <= 2 {
                    number = number * 10 + Int(bytes[j] - 0x30)
                    j += 1
                }
                guard j > i + 1 else {
                    throw KeyError("--rule '\(rule)': '$' in the template must be followed by a group number or {name} (write $$ for a dollar)")
                }
                group = number
                i = j
            }
            if let group {
                guard group <= pattern.captureCount else {
                    throw KeyError("--rule '\(rule)': the template uses group \(group) but the regex has only \(pattern.captureCount)")
                }
                flush()
                pieces.append(.group(group))
            }
        }
        flush()
        return pieces
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
