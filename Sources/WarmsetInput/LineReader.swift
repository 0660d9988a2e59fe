import Glibc

/// Splits decoded chunks into lines, in place.
///
/// Lines inside a chunk are handed out as views into it, inside the closure only. A line
/// that straddles two chunks is stitched in a small carry buffer: only its pieces are
/// copied, never a whole chunk, and no byte is scanned twice. A trailing `\r` is removed;
/// a last line without a newline is still delivered. Lines longer than `maxLineBytes` are
/// not delivered but reported, and skipped up to the next newline, so memory stays bounded
/// whatever the input holds.
public final class LineReader {
    /// The longest line delivered; longer ones are reported through `onOverlong`.
    public let maxLineBytes: Int
    private let readSize: Int
    @usableFromInline let carry: UnsafeMutableRawPointer
    @usableFromInline let carryCapacity: Int

    /// Creates a reader.
    /// - Parameters:
    ///   - maxLineBytes: the longest line that is delivered.
    ///   - readSize: the chunk size when reading a `ByteSource` directly (tests use tiny ones).
    public init(maxLineBytes: Int = 64 * 1024, readSize: Int = 512 * 1024) {
        precondition(maxLineBytes > 0 && readSize > 0)
        self.maxLineBytes = maxLineBytes
        self.readSize = readSize
        carryCapacity = maxLineBytes + 1  // room for the line and its `\r`
        carry = .allocate(byteCount: carryCapacity, alignment: 16)
    }

    deinit { carry.deallocate() }

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
    /// - Complexity: O(n) in the bytes read; one `memchr` pass over each byte.
    /// `@inlinable`: inlined into the caller's loop, `body` (the per-line work) is inlined too,
    /// instead of a call through a closure for every line.
    @inlinable @discardableResult
    public func forEachLine(
        of chunks: any ChunkSource,
        afterRead: () -> Void = {},
        beforeReuse: () -> Void = {},
        onOverlong: (_ lineNumber: Int, _ length: Int) -> Void = { _, _ in },
        _ body: (_ line: UnsafeRawBufferPointer, _ lineNumber: Int) throws -> Void
    ) throws -> Int {
        var lineNumber = 0
        var carried = 0  // bytes of an unfinished line in `carry`
        var skipping = false  // inside an overlong line, dropping bytes up to its newline
        var skipped = 0

        func deliver(_ start: UnsafeRawPointer, _ count: Int) throws {
            lineNumber += 1
            var length = count
            if length > 0 && start.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0D { length -= 1 }
            if length > maxLineBytes {
                onOverlong(lineNumber, length)
                return
            }
            try body(UnsafeRawBufferPointer(start: start, count: length), lineNumber)
        }

        while let chunk = try chunks.nextChunk() {
            afterRead()
            guard let base = chunk.baseAddress else { continue }
            let n = chunk.count
            var start = 0
            if carried > 0 || skipping {
                guard let hit = memchr(base, 0x0A, n) else {
                    // The whole chunk continues the unfinished line.
                    if skipping {
                        skipped += n
                    } else if carried + n > carryCapacity {
                        skipping = true
                        skipped = carried + n
                        carried = 0
                    } else {
                        (carry + carried).copyMemory(from: base, byteCount: n)
                        carried += n
                    }
                    continue
                }
                let head = UnsafeRawPointer(hit) - base
                if skipping {
                    lineNumber += 1
                    onOverlong(lineNumber, skipped + head)
                    skipping = false
                    skipped = 0
                } else if carried + head > carryCapacity {
                    lineNumber += 1
                    onOverlong(lineNumber, carried + head)
                } else {
                    (carry + carried).copyMemory(from: base, byteCount: head)
                    try deliver(carry, carried + head)
                }
                carried = 0
                start = head + 1
            }
            while start < n, let hit = memchr(base + start, 0x0A, n - start) {
                let end = UnsafeRawPointer(hit) - base
                try deliver(base + start, end - start)
                start = end + 1
            }
            beforeReuse()
            if start < n {
                let rest = n - start
                if rest > carryCapacity {
                    skipping = true
                    skipped = rest
                } else {
                    carry.copyMemory(from: base + start, byteCount: rest)
                    carried = rest
                }
            }
        }
        if skipping {
            lineNumber += 1
            onOverlong(lineNumber, skipped)
        } else if carried > 0 {
            try deliver(carry, carried)
            beforeReuse()
        }
        return lineNumber
    }
}

extension LineChunk {
    /// Calls `body` with each line of the chunk and its 1-based number within the chunk
    /// (a `leadingOverlong` line is number 1).
    ///
    /// A trailing `\r` is removed; lines longer than `maxLineBytes` are reported through
    /// `onOverlong` instead, as `LineReader` does.
    /// - Returns: the number of lines (delivered and overlong).
    /// - Complexity: O(n) in the chunk's bytes; one `memchr` pass.
    /// `@inlinable`: inlined into the caller, so is `body` (no call through a closure per line).
    @inlinable
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
        let n = bytes.count
        var start = 0
        @inline(__always) func deliver(_ from: Int, _ count: Int) {
            lineNumber += 1
            var length = count
            if length > 0 && base.load(fromByteOffset: from + length - 1, as: UInt8.self) == 0x0D { length -= 1 }
            if length > maxLineBytes {
                onOverlong(lineNumber, length)
                return
            }
            body(UnsafeRawBufferPointer(start: base + from, count: length), lineNumber)
        }
        while start < n, let hit = memchr(base + start, 0x0A, n - start) {
            let end = UnsafeRawPointer(hit) - base
            deliver(start, end - start)
            start = end + 1
        }
        if start < n { deliver(start, n - start) }  // the input's last line, without a newline
        return lineNumber
    }
}
