import WarmsetModel

/// `--origin TEMPLATE`: the URL a key's value is fetched from, such as
/// `http://api.internal/products/{1}` or `http://app:8080{path}?warm=1`.
///
/// Placeholders: `{key}` (the cache key), `{path}` (the key's representative request path,
/// inserted as is: it is already a normalized path), `{1}`, `{2}`… (the key rule's captures).
/// `{key}` and captures are percent-encoded as a path segment would need.
public struct OriginTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case key
        case path
        case capture(Int)
    }

    let parts: [Part]
    /// The template as given.
    public let text: String
    /// The scheme, host and port every URL of the template must keep.
    public let requestGuard: RequestGuard

    /// Parses `text`.
    /// - Throws: `WarmError` for an unknown placeholder, an unclosed `{`, or a URL that is not
    ///   http or https.
    public init(_ text: String) throws(WarmError) {
        guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw WarmError("--origin '\(Redaction.url(text))'", "expected an http:// or https:// URL template, e.g. 'http://api.internal/products/{1}'")
        }
        var parts: [Part] = []
        var literal = ""
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw WarmError("--origin '\(Redaction.url(text))'", "'{' is not closed")
            }
            let name = rest[rest.index(after: open)..<close]
            let part: Part
            if name == "key" {
                part = .key
            } else if name == "path" {
                part = .path
            } else if let n = Int(name), n >= 1 {
                part = .capture(n)
            } else {
                throw WarmError("--origin '\(Redaction.url(text))'", "unknown placeholder {\(name)}; use {key}, {path} or {1}, {2}… (the rule's captures)")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(part)
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        self.text = text
        // The authority must be literal: `{path}` may follow it, no placeholder may be in it.
        let afterScheme = text[text.index(text.range(of: "://")?.upperBound ?? text.startIndex, offsetBy: 0)...]
        let end = afterScheme.firstIndex { "/?#{".contains($0) } ?? afterScheme.endIndex
        if end < afterScheme.endIndex, afterScheme[end] == "{", !afterScheme[end...].hasPrefix("{path}") {
            throw WarmError("--origin '\(Redaction.url(text))'", "a placeholder may not be part of the host: values are fetched from one configured host")
        }
        self.requestGuard = try RequestGuard(url: String(text[..<end]), option: "--origin")
    }

    /// Whether the template uses `{path}` or captures, which only a jsonl manifest (or a fresh
    /// analysis) carries.
    public var needsPathOrCaptures: Bool {
        parts.contains { if case .literal = $0 { return false } else if case .key = $0 { return false } else { return true } }
    }

    /// Whether the template uses `{path}`.
    public var usesPath: Bool { parts.contains(.path) }

    /// The URL for `entry`, or nil when the template names a capture or a path the entry lacks.
    public func url(for entry: WarmEntry) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .key: out += Self.percentEncoded(entry.key)
            case .path:
                guard !entry.path.isEmpty else { return nil }
                out += entry.path
            case .capture(let n):
                guard n <= entry.captures.count else { return nil }
                out += Self.percentEncoded(entry.captures[n - 1])
            }
        }
        return out
    }

    /// `text` with every byte outside RFC 3986's unreserved set and `:@!$&'()*+,;=` encoded.
    /// Per key on the warm path: no allocation but the result's (none when nothing needs it).
    static func percentEncoded(_ text: String) -> String {
        @inline(__always) func kept(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "@"),
                UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
                return true
            default:
                return false
            }
        }
        @inline(__always) func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x37 + nibble }
        if text.utf8.allSatisfy(kept) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if kept(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex(byte >> 4))
                out.append(hex(byte & 0xF))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
