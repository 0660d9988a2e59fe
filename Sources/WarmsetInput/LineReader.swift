import Glibc

/// Splits decoded chunks into lines, in place, with the one `LineFramer`.
///
/// Lines inside a chunk are handed out as views into it, inside the closure only. A line
/// that straddles two chunks is stitched in a `LineCarry`: only its pieces are copied, never
/// a whole chunk, and no byte is scanned twice. A trailing `\r` is removed; a last line without
/// a newline is still delivered. Lines longer than `maxLineBytes` are not delivered but
/// reported, and skipped up to the next newline, so memory stays bounded whatever the input holds.
public final class LineReader {
    /// The longest line delivered; longer ones are reported through `onOverlong`.
    public let maxLineBytes: Int
    private let readSize: Int
    @usableFromInline let framer: LineFramer
    @usableFromInline let carry: LineCarry

    /// Creates a reader.
    /// - Parameters:
    ///   - maxLineBytes: the longest line that is delivered.
    ///   - readSize: the chunk size when reading a `ByteSource` directly (tests use tiny ones).
    public init(maxLineBytes: Int = 64 * 1024, readSize: Int = 512 * 1024) {
        precondition(maxLineBytes > 0 && readSize > 0)
        self.maxLineBytes = maxLineBytes
        self.readSize = readSize
        framer = LineFramer(maxLineBytes: maxLineBytes)
        carry = LineCarry(capacity: framer.carryCapacity)
    }

    /// Reads `source` on this thread and calls `body` with each line.
    @discardableResult
    public func forEachLine(
        of source: any ByteSource,
        afterRead: () -> Void = {},
        onOverlong: (_ lineNumber: Int, _ length: Int) -> Void = { _, _ in },
        _ body: (_ line: UnsafeRawBufferPointer, _ lineNumber: Int) throws -> Void
    ) throws -> Int {
        try forEachLine(of: DirectChunks(source, chunkSize: readSize), afterRead: afterRead, onOverlong: onOverlong, body)
    }

    /// Calls `body` with each line of `chunks` and its 1-based line number.
    ///
    /// - Parameters:
    ///   - afterRead: called after every chunk, for progress reporting.
    ///   - beforeReuse: called once the lines of a chunk have been delivered, before any byte
    ///     of the lines delivered so far changes (the chunk's buffer is handed back, the carry
    ///     buffer refilled), and after the input's last line: for a caller that holds on to a
    ///     line until the next one, every line is let go of before this returns.
    ///   - onOverlong: called with the line number and the length of a line over the limit.
    /// - Returns: the number of lines (delivered and overlong).
    /// - Throws: the source's `InputError`s (lines before the failure have been delivered),
    ///   and whatever `body` throws.
    /// - Complexity: O(n) in the bytes read; one pass over each byte (`LineFramer.forEachLine`).
    /// `@inlinable @inline(__always)`: inlined into the caller's loop (the optimizer's size
    /// heuristic would otherwise keep it a call), so `body` (the per-line work) is inlined too,
    /// instead of a call through a closure for every line.
    @inlinable @inline(__always) @discardableResult
    public func forEachLine(
        of chunks: any ChunkSource,
        afterRead: () -> Void = {},
        beforeReuse: () -> Void = {},
        onOverlong: (_ lineNumber: Int, _ length: Int) -> Void = { _, _ in },
        _ body: (_ line: UnsafeRawBufferPointer, _ lineNumber: Int) throws -> Void
    ) throws -> Int {
        var lineNumber = 0
        @inline(__always) func line(_ bytes: UnsafeRawBufferPointer) throws {
            lineNumber += 1
            try body(bytes, lineNumber)
        }
        @inline(__always) func overlong(_ length: Int) {
            lineNumber += 1
            onOverlong(lineNumber, length)
        }
        let framer = framer, carry = carry
        carry.reset()
        while let chunk = try chunks.nextChunk() {
            afterRead()
            guard let base = chunk.baseAddress else { continue }
            let n = chunk.count
            var start = 0
            if !carry.isEmpty {
                guard let hit = memchr(base, 0x0A, n) else {
                    // The whole chunk continues the unfinished line.
                    carry.append(base, count: n)
                    continue
                }
                let head = UnsafeRawPointer(hit) - base
                try carry.complete(with: base, count: head, framer: framer, onOverlong: overlong, line)
                start = head + 1
            }
            start = try framer.forEachLine(in: base, from: start, to: n, onOverlong: overlong, line)
            beforeReuse()
            if start < n { carry.append(base + start, count: n - start) }
        }
        let skipping = carry.isSkipping
        if try carry.finish(framer: framer, onOverlong: overlong, line), !skipping { beforeReuse() }
        return lineNumber
    }
}

extension LineChunk {
    /// Calls `body` with each line of the chunk and its 1-based number within the chunk
    /// (a `leadingOverlong` line is number 1).
    ///
    /// Lines are framed by `LineFramer`, as `LineReader` frames them: a trailing `\r` is
    /// removed; lines longer than `maxLineBytes` are reported through `onOverlong` instead.
    /// - Returns: the number of lines (delivered and overlong).
    /// - Complexity: O(n) in the chunk's bytes; one pass (`LineFramer.forEachLine`).
    /// `@inlinable @inline(__always)`: inlined into the caller, so is `body` (no call through a
    /// closure per line).
    @inlinable @inline(__always)
    public func forEachLine(
        maxLineBytes: Int,
        onOverlong: (_ lineNumber: Int, _ length: Int) -> Void,
        _ body: (_ line: UnsafeRawBufferPointer, _ lineNumber: Int) -> Void
    ) -> Int {
        var lineNumber = 0
        if let leadingOverlong {
            lineNumber = 1
            onOverlong(1, leadingOverlong)
        }
        guard let base = bytes.baseAddress else { return lineNumber }
        @inline(__always) func line(_ bytes: UnsafeRawBufferPointer) {
            lineNumber += 1
            body(bytes, lineNumber)
        }
        @inline(__always) func overlong(_ length: Int) {
            lineNumber += 1
            onOverlong(lineNumber, length)
        }
        let framer = LineFramer(maxLineBytes: maxLineBytes)
        let n = bytes.count
        let start = framer.forEachLine(in: base, from: 0, to: n, onOverlong: overlong, line)
        // The input's last line, without a newline.
        if start < n { framer.frame(base + start, n - start, onOverlong: overlong, line) }
        return lineNumber
    }
}
