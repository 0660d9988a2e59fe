/// Which JSON keys hold which field, for `--format json`.
public struct JSONFieldNames: Sendable, Equatable {
    /// The keys tried for each field, in order of preference.
    public var names: [Field: [String]]

    /// The defaults: nginx's variable names, as `log_format … escape=json` users write them,
    /// plus a few common alternatives.
    public static let defaults = JSONFieldNames(names: [
        .request: ["request"],
        .method: ["request_method", "method"],
        .requestURI: ["request_uri", "url", "path"],
        .uri: ["uri"],
        .status: ["status", "status_code"],
        .bytes: ["body_bytes_sent", "bytes_sent", "bytes"],
        .timeISO8601: ["time_iso8601", "time", "@timestamp", "timestamp", "time_local"],
        .requestTime: ["request_time", "duration"],
        .host: ["host", "server_name"],
    ])

    /// Creates a mapping.
    public init(names: [Field: [String]]) { self.names = names }

    /// Field names accepted by `--json-field FIELD=KEY`.
    public static let settable: [String: Field] = [
        "request": .request, "method": .method, "request_uri": .requestURI, "uri": .uri,
        "status": .status, "bytes": .bytes, "time": .timeISO8601, "request_time": .requestTime,
        "host": .host,
    ]
}

/// Reads one JSON object per line (nginx `escape=json`), in any key order.
///
/// Only the mapped fields are decoded; other values, nested objects and arrays are skipped.
/// Escaped strings are decoded into one scratch buffer that is reused for every line.
public final class JSONLineParser {
    private struct Name {
        var bytes: [UInt8]
        var field: Field
    }
    private let names: [Name]
    private let scratch: UnsafeMutableRawBufferPointer
    private var scratchUsed = 0
    /// The mapping this parser uses.
    public let fieldNames: JSONFieldNames

    /// Prepares a parser for lines up to `maxLineBytes` long.
    public init(fieldNames: JSONFieldNames = .defaults, maxLineBytes: Int = 64 * 1024) {
        self.fieldNames = fieldNames
        var names: [Name] = []
        for (field, keys) in fieldNames.names {
            for key in keys { names.append(Name(bytes: Array(key.utf8), field: field)) }
        }
        self.names = names
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: maxLineBytes + 16, alignment: 8)
    }

    deinit { scratch.deallocate() }

    /// Parses one JSON object line into `fields`.
    /// - Returns: nil on success, or why the line is not a usable JSON object.
    public func parse(_ line: UnsafeRawBufferPointer, into fields: inout RequestFields) -> Malformation? {
        fields = RequestFields()
        fields.hasLogEscapes = false
        scratchUsed = 0
        var at = skipSpace(line, 0)
        guard at < line.count, line[at] == 0x7B else { return Malformation(.notJSONObject, at: at) }
        at += 1
        var request: UnsafeRawBufferPointer?
        var requestURI: UnsafeRawBufferPointer?
        var uri: UnsafeRawBufferPointer?
        at = skipSpace(line, at)
        if at < line.count && line[at] == 0x7D { return Malformation(.missingField, at: at) }
        while true {
            at = skipSpace(line, at)
            guard at < line.count, line[at] == 0x22 else { return Malformation(.badJSON, at: at) }
            guard let keyEnd = stringEnd(line, at) else { return Malformation(.badJSON, at: at) }
            let key = UnsafeRawBufferPointer(rebasing: line[(at + 1)..<keyEnd])
            at = skipSpace(line, keyEnd + 1)
            guard at < line.count, line[at] == 0x3A else { return Malformation(.badJSON, at: at) }
            at = skipSpace(line, at + 1)
            guard at < line.count else { return Malformation(.badJSON, at: at) }
            let field = match(key)
            let valueStart = at
            var value: UnsafeRawBufferPointer
            switch line[at] {
            case 0x22:
                guard let end = stringEnd(line, at) else { return Malformation(.badJSON, at: at) }
                value = UnsafeRawBufferPointer(rebasing: line[(at + 1)..<end])
                if field != nil, let decoded = unescape(value) {
                    value = decoded
                } else if field != nil {
                    return Malformation(.badJSON, at: at)
                }
                at = end + 1
            case 0x7B, 0x5B:
                guard let end = skipNested(line, at) else { return Malformation(.badJSON, at: at) }
                value = UnsafeRawBufferPointer(rebasing: line[at..<end])
                at = end
            default:
                var end = at
                while end < line.count && line[end] != 0x2C && line[end] != 0x7D && line[end] != 0x20 { end += 1 }
                value = UnsafeRawBufferPointer(rebasing: line[at..<end])
                at = end
            }
            if let field {
                switch field {
                case .request: request = value
                case .requestURI: requestURI = value
                case .uri: uri = value
                case .method: fields.method = value
                case .status:
                    fields.status = ByteScan.parseStatus(value)
                    if fields.status < 0 { return Malformation(.badStatus, at: valueStart) }
                case .bytes:
                    guard let count = ByteScan.parseCount(value) else { return Malformation(.badBytes, at: valueStart) }
                    fields.bytes = count
                case .timeISO8601, .timeLocal:
                    fields.time = value
                    fields.timeIsISO8601 = value.count >= 5 && value[4] == 0x2D
                case .requestTime: fields.requestTime = value
                case .host: fields.host = value
                case .args: break
                }
            }
            at = skipSpace(line, at)
            guard at < line.count else { return Malformation(.badJSON, at: at) }
            if line[at] == 0x2C {
                at += 1
                continue
            }
            guard line[at] == 0x7D else { return Malformation(.badJSON, at: at) }
            break
        }
        if let requestURI {
            fields.target = requestURI
        } else if let request {
            RequestLine.split(request, into: &fields)
        } else if let uri {
            fields.target = uri
        } else {
            return Malformation(.missingField, at: 0)
        }
        if fields.target == nil && !fields.badRequestLine { fields.badRequestLine = true }
        return nil
    }

    @inline(__always)
    private func match(_ key: UnsafeRawBufferPointer) -> Field? {
        for name in names where name.bytes.count == key.count {
            var equal = true
            for i in 0..<key.count where key[i] != name.bytes[i] {
                equal = false
                break
            }
            if equal { return name.field }
        }
        return nil
    }

    private func skipSpace(_ line: UnsafeRawBufferPointer, _ from: Int) -> Int {
        var at = from
        while at < line.count && (line[at] == 0x20 || line[at] == 0x09) { at += 1 }
        return at
    }

    /// The offset of the quote closing the string that opens at `from`.
    private func stringEnd(_ line: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        var at = from + 1
        while at < line.count {
            let b = line[at]
            if b == 0x5C { at += 2; continue }
            if b == 0x22 { return at }
            at += 1
        }
        return nil
    }

    /// The offset just past the object or array that opens at `from`.
    private func skipNested(_ line: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        var depth = 0
        var at = from
        while at < line.count {
            switch line[at] {
            case 0x7B, 0x5B: depth += 1
            case 0x7D, 0x5D:
                depth -= 1
                if depth == 0 { return at + 1 }
            case 0x22:
                guard let end = stringEnd(line, at) else { return nil }
                at = end
            default: break
            }
            at += 1
        }
        return nil
    }

    /// Decodes JSON string escapes into the scratch buffer; returns the value itself when it has none.
    private func unescape(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var hasEscape = false
        for b in value where b == 0x5C { hasEscape = true; break }
        if !hasEscape { return value }
        guard scratchUsed + value.count <= scratch.count else { return nil }
        let start = scratchUsed
        var out = scratchUsed
        var i = 0
        func put(_ b: UInt8) { scratch[out] = b; out += 1 }
        while i < value.count {
            let b = value[i]
            if b != 0x5C { put(b); i += 1; continue }
            guard i + 1 < value.count else { return nil }
            let e = value[i + 1]
            i += 2
            switch e {
            case 0x22, 0x5C, 0x2F: put(e)
            case 0x62: put(0x08)
            case 0x66: put(0x0C)
            case 0x6E: put(0x0A)
            case 0x72: put(0x0D)
            case 0x74: put(0x09)
            case 0x75:
                guard i + 4 <= value.count, var code = hex4(value, i) else { return nil }
                i += 4
                if code >= 0xD800 && code < 0xDC00, i + 6 <= value.count, value[i] == 0x5C, value[i + 1] == 0x75,
                    let low = hex4(value, i + 2), low >= 0xDC00 && low < 0xE000
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                // UTF-8 is never longer than the 6 escaped bytes it came from.
                if code < 0x80 {
                    put(UInt8(code))
                } else if code < 0x800 {
                    put(UInt8(0xC0 | (code >> 6))); put(UInt8(0x80 | (code & 0x3F)))
                } else if code < 0x10000 {
                    put(UInt8(0xE0 | (code >> 12))); put(UInt8(0x80 | ((code >> 6) & 0x3F))); put(UInt8(0x80 | (code & 0x3F)))
                } else {
                    put(UInt8(0xF0 | (code >> 18))); put(UInt8(0x80 | ((code >> 12) & 0x3F)))
                    put(UInt8(0x80 | ((code >> 6) & 0x3F))); put(UInt8(0x80 | (code & 0x3F)))
                }
            default: return nil
            }
        }
        scratchUsed = out
        return UnsafeRawBufferPointer(rebasing: scratch[start..<out])
    }

    private func hex4(_ v: UnsafeRawBufferPointer, _ at: Int) -> UInt32? {
        var code: UInt32 = 0
        for k in 0..<4 {
            guard let d = Hex.value(v[at + k]) else { return nil }
            code = code << 4 | UInt32(d)
        }
        return code
    }
}

/// Hex digits.
public enum Hex {
    /// The value of a hex digit, or nil.
    @inline(__always)
    public static func value(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Upper-case hex digit for a nibble.
    @inline(__always)
    public static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x41 + nibble - 10
    }
}

/// A parser for any of the supported formats: a compiled `log_format` or JSON lines.
public enum AccessLogParser {
    /// An nginx `log_format`.
    case text(LogFormatParser)
    /// One JSON object per line.
    case json(JSONLineParser)

    /// Builds the parser for `--format` (`combined`, `common`, `json`, or a `log_format` string).
    /// - Throws: `FormatError` when the format cannot be compiled.
    public init(format: String, jsonFields: JSONFieldNames = .defaults, maxLineBytes: Int = 64 * 1024) throws(FormatError) {
        if format == "json" {
            self = .json(JSONLineParser(fieldNames: jsonFields, maxLineBytes: maxLineBytes))
        } else {
            self = .text(LogFormatParser(format: try LogFormat(format)))
        }
    }

    /// The fields this format can carry (JSON: all of them, whether a line has them or not).
    public var fields: Set<Field> {
        switch self {
        case .text(let parser): return parser.format.fields
        case .json: return Set(Field.allCases)
        }
    }

    /// Parses one line; nil on success.
    @inlinable @inline(__always)
    public func parse(_ line: UnsafeRawBufferPointer, into fields: inout RequestFields) -> Malformation? {
        switch self {
        case .text(let parser): return parser.parse(line, into: &fields)
        case .json(let parser): return parser.parse(line, into: &fields)
        }
    }
}
