#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a `ByteSource` into lines without copying whole buffers.
///
/// Lines are handed out in place, inside the closure only. Only the unfinished tail of a
/// buffer is moved to the front before the next read, and a partial line is never scanned
/// twice. A trailing `\r` is removed; a last line without a newline is still delivered.
/// Lines longer than `maxLineBytes` are not delivered but reported, and the reader skips
/// to the next newline, so memory stays bounded whatever the input holds.
public final class LineReader {
    /// The longest line delivered; longer ones are reported through `onOverlong`.
    public let maxLineBytes: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private let readSize: Int

    /// Creates a reader with its one buffer.
    /// - Parameters:
    ///   - maxLineBytes: the longest line that is delivered.
    ///   - readSize: how much is read per call (the tests use tiny sizes to cross every boundary).
    public init(maxLineBytes: Int = 64 * 1024, readSize: Int = 512 * 1024) {
        precondition(maxLineBytes > 0 && readSize > 0)
        self.maxLineBytes = maxLineBytes
        self.readSize = readSize
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maxLineBytes + readSize + 1, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with each line of `source` and its 1-based line number.
    ///
    /// - Parameters:
    ///   - afterRead: called after every read, for progress reporting.
    ///   - onOverlong: called with the line number and the length seen of a line over the limit.
    /// - Returns: the number of lines (delivered and overlong).
    /// - Throws: the source's `InputError`s; lines before the failure have been delivered.
    @discardableResult
    public func forEachLine(
        of source: any ByteSource,
        afterRead: () -> Void = {},
        onOverlong: (_ lineNumber: Int, _ length: Int) -> Void = { _, _ in },
        _ body: (_ line: UnsafeRawBufferPointer, _ lineNumber: Int) throws -> Void
    ) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var start = 0  // first byte of the current (unfinished) line
        var end = 0  // end of valid bytes
        var lineNumber = 0
        var skipping = false  // inside an overlong line, dropping bytes up to its newline
        var skippedLength = 0

        func deliver(_ lineStart: Int, _ lineEnd: Int) throws {
            lineNumber += 1
            var stop = lineEnd
            if stop > lineStart && base.load(fromByteOffset: stop - 1, as: UInt8.self) == 0x0D { stop -= 1 }
            if stop - lineStart > maxLineBytes {
                onOverlong(lineNumber, stop - lineStart)
                return
            }
            try body(UnsafeRawBufferPointer(start: base + lineStart, count: stop - lineStart), lineNumber)
        }

        while true {
            // Move the unfinished line to the front; it holds no newline, so it is not rescanned.
            if start > 0 {
                if end > start { memmove(base, base + start, end - start) }
                end -= start
                start = 0
            }
            if end > maxLineBytes {
                // Still no newline past the limit: drop what we have and skip to the next newline.
                skippedLength += end
                skipping = true
                end = 0
            }
            let n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: readSize))
            afterRead()
            if n == 0 {
                if skipping {
                    lineNumber += 1
                    onOverlong(lineNumber, skippedLength + end)
                } else if end > start {
                    try deliver(start, end)
                }
                return lineNumber
            }
            var scan = end
            end += n
            while scan < end, let hit = memchr(base + scan, 0x0A, end - scan) {
                let newline = hit - UnsafeMutableRawPointer(base)
                if skipping {
                    lineNumber += 1
                    onOverlong(lineNumber, skippedLength + newline)
                    skipping = false
                    skippedLength = 0
                } else {
                    try deliver(start, newline)
                }
                start = newline + 1
                scan = start
            }
        }
    }
}
