import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch

/// The fuzz targets: each takes arbitrary bytes and must neither crash, hang, nor leak.
/// `make fuzz` builds this module with libFuzzer and AddressSanitizer (`-sanitize=fuzzer,address`).
enum FuzzTargets {
    static let names = ["logformat", "lineparser", "json", "keys", "rule", "sketchfile", "linereader"]

    // nonisolated(unsafe): libFuzzer calls the entry point from one thread only.
    nonisolated(unsafe) static let combined: LogFormatParser? = (try? LogFormat("combined")).map(LogFormatParser.init)
    nonisolated(unsafe) static let json = JSONLineParser(maxLineBytes: 1 << 20)
    static let sampleLines: [[UInt8]] = [
        Array(#"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5 "-" "ua""#.utf8),
        Array(#"{"request":"GET /x HTTP/1.1","status":200,"time_iso8601":"2026-11-27T10:00:00Z"}"#.utf8),
        Array(#"1.2.3.4 shop [2026-11-27T10:00:00+01:00] "GET /p/1 HTTP/2.0" 200 5 rt=0.1"#.utf8),
    ]
    nonisolated(unsafe) static let builder = KeyBuilder(
        rules: [
            try? KeyRule(#"^/products/(\d+)$ => product:$1"#), try? KeyRule(#"^/u/(?<id>[^/]+)/(.*)$ => {user}:${id}:$2"#),
        ].compactMap { $0 },
        excludes: [try? Pattern(#"^/static/"#, wholeSubject: false, what: "--exclude")].compactMap { $0 },
        queryPolicy: .all, maxKeyBytes: 1024, maxTargetBytes: 1 << 20)

    /// Runs target `name` on `data`.
    static func run(_ name: String, _ data: UnsafeRawBufferPointer) {
        var fields = RequestFields()
        switch name {
        case "logformat":
            // The bytes as a log_format; if it compiles, parse the sample lines and the bytes with it.
            guard let format = try? LogFormat(String(decoding: data, as: UTF8.self)) else { return }
            let parser = LogFormatParser(format: format)
            for line in sampleLines { line.withUnsafeBytes { _ = parser.parse($0, into: &fields) } }
            _ = parser.parse(data, into: &fields)
        case "lineparser":
            if combined?.parse(data, into: &fields) == nil, let target = fields.target {
                _ = fields.epochSeconds
                _ = builder.build(target: target, hasLogEscapes: true)
            }
        case "json":
            if json.parse(data, into: &fields) == nil, let target = fields.target {
                _ = fields.epochSeconds
                _ = fields.requestSeconds
                _ = builder.build(target: target, hasLogEscapes: false)
            }
        case "keys":
            let built = builder.build(target: data, hasLogEscapes: true)
            let skipped = built.skipReason
            var key: [UInt8] = [], path: [UInt8] = []
            if case .keyed(let k) = built {
                key = Array(k.key)
                path = Array(k.path)
                precondition(!key.contains { $0 <= 0x20 || $0 == 0x7F }, "a key holds a control byte or space")
                precondition(key.count <= 1024)
                _ = builder.captures(ofPath: String(decoding: path, as: UTF8.self))
            }
            // The memo answers as build does, whether it builds (twice: the second takes a slot) or hits.
            for _ in 0..<3 {
                let memoized = builder.buildMemoized(target: data, hasLogEscapes: true)
                precondition(memoized.skipReason == skipped, "the memo changed the outcome")
                if case .keyed(let k) = memoized { precondition(Array(k.key) == key && Array(k.path) == path, "the memo changed the key or path") }
            }
        case "rule":
            // The bytes as a rule; if it compiles, apply it to a few paths.
            guard let rule = try? KeyRule(String(decoding: data, as: UTF8.self)) else { return }
            let one = KeyBuilder(rules: [rule], maxKeyBytes: 1024, maxTargetBytes: 4096)
            for path in ["/", "/products/1", "/a/b/c?d=e", "/%7B%7D"] {
                var bytes = Array(path.utf8)
                _ = bytes.withUnsafeMutableBytes { one.build(target: UnsafeRawBufferPointer($0), hasLogEscapes: false) }
            }
        case "sketchfile":
            _ = try? SketchFile.decode(data, path: "fuzz")
        case "linereader":
            let reader = LineReader(maxLineBytes: 64, readSize: 7)
            _ = try? reader.forEachLine(of: BytesSource(data)) { line, _ in
                _ = combined?.parse(line, into: &fields)
            }
        default:
            break
        }
    }
}

/// Bytes in memory as a `ByteSource`.
final class BytesSource: ByteSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    var path: String { "fuzz" }
    var compressedBytesConsumed: Int64 { Int64(offset) }
    var compressedSize: Int64? { Int64(bytes.count) }
    var isGzip: Bool { false }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
        }
        offset += max(n, 0)
        return max(n, 0)
    }
}
