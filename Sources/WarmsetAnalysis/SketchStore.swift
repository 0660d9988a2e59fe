import WarmsetEmit
import WarmsetInput
import WarmsetSketch

/// Sketch files on disk: telling them from logs, reading and writing them.
///
/// A sketch is recognised by its magic number, as gzip is, so `warmset analyze` takes sketch
/// files among its log inputs, gzipped or not, from files or stdin.
public enum SketchStore {
    /// An opened input: a sketch's bytes, or a log to read line by line.
    public enum Opened {
        /// A sketch file, read whole (its size is fixed by its parameters).
        case sketch([UInt8])
        /// A log; the bytes read to look for the magic number are handed back first.
        case log(any ByteSource)
    }

    /// Looks at the first decoded bytes of `source`.
    /// - Throws: `InputError` when reading fails.
    public static func classify(_ source: any ByteSource) throws(InputError) -> Opened {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        let magicCount = SketchFile.magic.count
        var filled = 0
        while filled < magicCount {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<magicCount]))
            if n == 0 { break }
            filled += n
        }
        let prefix = Array(buffer[0..<filled])
        let isSketch = prefix.withUnsafeBytes { SketchFile.hasMagic($0) }
        guard isSketch else { return .log(ReplayingSource(source, prefix: prefix)) }
        var bytes = prefix
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return .sketch(bytes)
    }

    /// Reads and parses a sketch file (`-` is stdin; gzip is undone).
    /// - Throws: `InputError` when it cannot be read, `SketchError` when it is not a sound sketch.
    public static func read(_ path: String) throws -> SketchSnapshot {
        let source = try InputOpener.open(path)
        switch try classify(source) {
        case .sketch(let bytes):
            return try SketchFile.decode(bytes, path: path)
        case .log:
            throw SketchError(path: path, kind: .notASketch, byteOffset: 0)
        }
    }

    /// Writes a sketch file atomically (`-` is stdout).
    /// - Throws: `EmitError`.
    public static func write(_ snapshot: SketchSnapshot, to path: String) throws(EmitError) {
        try OutputFile.write(SketchFile.encode(snapshot), to: path)
    }

    /// Merges sketch files into one snapshot (`warmset merge`).
    /// - Parameter capacity: keep at least this many candidates (default: the largest input's).
    /// - Throws: `InputError`, or `SketchError` for a damaged sketch or different settings.
    public static func merge(_ paths: [String], capacity: Int = 0) throws -> SketchSnapshot {
        guard let firstPath = paths.first else { throw SketchError(path: "-", kind: .incompatible("no sketch to merge")) }
        // Read one at a time: memory holds the merged sketch plus one input.
        let first = try read(firstPath)
        let counter = KeyCounting.empty(like: first, capacity: max(capacity, first.capacity))
        try counter.merge(first, name: firstPath)
        for path in paths.dropFirst() {
            let snapshot = try read(path)
            try first.checkMergeable(with: snapshot, name: firstPath, otherName: path)
            try counter.merge(snapshot, name: path)
        }
        guard let merged = counter.snapshot() else { throw SketchError(path: firstPath, kind: .incompatible("no sketch to merge")) }
        return merged
    }
}

/// A source whose first bytes were already read: hands them back, then reads on.
final class ReplayingSource: ByteSource {
    private let inner: any ByteSource
    private var prefix: [UInt8]
    private var prefixAt = 0

    init(_ inner: any ByteSource, prefix: [UInt8]) {
        self.inner = inner
        self.prefix = prefix
    }

    var path: String { inner.path }
    var compressedBytesConsumed: Int64 { inner.compressedBytesConsumed }
    var compressedSize: Int64? { inner.compressedSize }
    var isGzip: Bool { inner.isGzip }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if prefixAt < prefix.count {
            let n = min(buffer.count, prefix.count - prefixAt)
            prefix.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[prefixAt..<(prefixAt + n)])) }
            prefixAt += n
            return n
        }
        return try inner.read(into: buffer)
    }
}
