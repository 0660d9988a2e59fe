import Glibc
import CByteScan
import CLineScan

/// The one definition of a line, used by every reader (`LineReader`, `LineChunk`,
/// `LineAlignedChunks`, the follower of growing logs).
///
/// A line ends at `\n`; a `\r` just before it is not part of the line; a line longer than
/// `maxLineBytes` (after its `\r` is removed) is not delivered but reported with its length. A
/// line that is not finished when a buffer ends continues in the next one: its start is kept in a
/// `LineCarry`, and a line that can no longer be delivered is skipped up to its newline, so
/// memory stays bounded whatever the input holds. Bytes are searched once (`forEachLine`): a
/// partial line is never scanned again (the manner of swift-nio's line decoder).
public struct LineFramer: Sendable {
    /// The longest line delivered.
    public let maxLineBytes: Int

    /// A framer for lines of at most `maxLineBytes` bytes.
    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The most bytes an unfinished line may hold and still be delivered: the line and its `\r`.
    @inlinable public var carryCapacity: Int { maxLineBytes + 1 }

    /// The length of the line at `start` (`count` bytes, its `\n` excluded) without a final `\r`.
    @inlinable @inline(__always)
    public static func length(of start: UnsafeRawPointer, _ count: Int) -> Int {
        count > 0 && start.load(fromByteOffset: count - 1, as: UInt8.self) == 0x0D ? count - 1 : count
    }

    /// A line known to be complete (ended by `\n`, or the input's last): `body` gets it without
    /// its `\r`, or `onOverlong` its length when that is over `maxLineBytes`.
    @inlinable @inline(__always)
    public func frame(
        _ start: UnsafeRawPointer, _ count: Int, onOverlong: (_ length: Int) -> Void,
        _ body: (_ line: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        let length = Self.length(of: start, count)
        if length > maxLineBytes {
            onOverlong(length)
        } else {
            try body(UnsafeRawBufferPointer(start: start, count: length))
        }
    }

    /// Frames each line that ends in `base[from..<to]` (its `\n` there), as `frame` does.
    /// - Returns: the offset after the last `\n` (`from` when there is none): the bytes from
    ///   there to `to` begin a line that is not finished.
    /// - Complexity: O(to − from); one pass. The line ends in whole 64-byte blocks are found a few
    ///   kilobytes at a time (`warmset_newline_ends`: AVX2 where the CPU has it, chosen at run
    ///   time), the last 0…63 bytes 16 at a time (`warmset_find_byte`). One 16-byte SSE2 scan a
    ///   line from Swift was 154 instructions a line with the loop around it; now about 105.
    @inlinable @inline(__always)
    public func forEachLine(
        in base: UnsafeRawPointer, from: Int, to: Int,
        onOverlong: (_ length: Int) -> Void,
        _ body: (_ line: UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> Int {
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        // 256 bytes: on the stack.
        return try withUnsafeTemporaryAllocation(of: UInt16.self, capacity: Int(WARMSET_NEWLINE_ROOM)) { ends in
            var start = from
            var block = from
            var scanned = 0
            while to &- block >= 64 {
                let found = warmset_newline_ends(bytes + block, to &- block, ends.baseAddress!, ends.count, &scanned)
                if scanned == 0 { break }  // cannot happen with 64 bytes or more and this room; the tail loop would finish
                var k = 0
                while k < found {
                    // Safe: from ≤ start ≤ end < to, inside the caller's buffer.
                    let end = block &+ Int(ends[k])
                    k &+= 1
                    try frame(base + start, end &- start, onOverlong: onOverlong, body)
                    start = end &+ 1
                }
                block &+= scanned
            }
            // The last bytes, fewer than a block: no newline before `block` is left unframed
            // (`start` ≤ `block`).
            var at = block
            while at < to {
                let end = warmset_find_byte(bytes, at, to, 0x0A)
                if end < 0 { break }
                try frame(base + start, end - start, onOverlong: onOverlong, body)
                start = end + 1
                at = start
            }
            return start
        }
    }
}

/// The unfinished line between two buffers: its bytes copied (only the line's, never a whole
/// buffer), or, once it has grown past what can be delivered, only its length while it is
/// skipped up to its newline.
///
/// One carry serves every reader: `LineReader` stitches a line split between two chunks,
/// `LineAlignedChunks` moves the tail of one buffer to the start of the next, and the follower
/// keeps a line whose newline has not been written yet.
public final class LineCarry {
    /// The most bytes kept; a longer unfinished line is skipped.
    public let capacity: Int
    @usableFromInline let storage: UnsafeMutableRawPointer
    /// Bytes of the unfinished line held in `storage`.
    @usableFromInline var carried = 0
    /// Inside a line too long to keep, dropping its bytes up to its newline.
    @usableFromInline var skipping = false
    /// Bytes of the line being skipped, so far.
    @usableFromInline var skipped = 0
    /// Whether the last byte added is a `\r` (while skipping, the bytes are gone): a line's
    /// length is reported without it, wherever its newline falls.
    @usableFromInline var endsInCR = false

    /// A carry that keeps up to `capacity` bytes.
    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { storage.deallocate() }

    /// No unfinished line: the next byte begins a line.
    @inlinable public var isEmpty: Bool { carried == 0 && !skipping }
    /// Whether the unfinished line is being skipped (too long to deliver).
    @inlinable public var isSkipping: Bool { skipping }
    /// The bytes of the unfinished line kept (0 while skipping).
    @inlinable public var keptBytes: Int { carried }
    /// The bytes of the unfinished line seen so far (kept or skipped).
    @inlinable public var pendingBytes: Int { skipping ? skipped : carried }

    /// Forgets the unfinished line (the input starts over).
    public func reset() {
        carried = 0
        skipping = false
        skipped = 0
        endsInCR = false
    }

    /// Marks the next bytes as the rest of a line being skipped (a follower resuming inside one).
    public func resumeSkipping() {
        reset()
        skipping = true
    }

    /// Adds `count` bytes at `bytes` to the unfinished line; past `capacity` the line is skipped.
    /// - Complexity: O(count) (a copy), O(1) while skipping.
    @inlinable
    public func append(_ bytes: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        endsInCR = bytes.load(fromByteOffset: count - 1, as: UInt8.self) == 0x0D
        if skipping {
            skipped += count
        } else if carried + count > capacity {
            skipping = true
            skipped = carried + count
            carried = 0
        } else {
            // Safe: carried + count ≤ capacity.
            (storage + carried).copyMemory(from: bytes, byteCount: count)
            carried += count
        }
    }

    /// Ends the unfinished line with the `count` bytes at `head` (those before its `\n`), and
    /// delivers it through `framer`, or reports it as too long.
    @inlinable
    public func complete(
        with head: UnsafeRawPointer, count: Int, framer: LineFramer,
        onOverlong: (_ length: Int) -> Void, _ body: (_ line: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        defer { reset() }
        if skipping || carried + count > capacity {
            onOverlong(lengthWithoutCR(pendingBytes + count, head: head, count: count))
        } else {
            (storage + carried).copyMemory(from: head, byteCount: count)
            try framer.frame(UnsafeRawPointer(storage), carried + count, onOverlong: onOverlong, body)
        }
    }

    /// Ends the input: the unfinished line, if any, is its last line, without a newline.
    /// - Returns: whether there was one (delivered or reported).
    @inlinable @discardableResult
    public func finish(
        framer: LineFramer, onOverlong: (_ length: Int) -> Void, _ body: (_ line: UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> Bool {
        defer { reset() }
        if skipping {
            onOverlong(lengthWithoutCR(skipped, head: nil, count: 0))
            return true
        }
        guard carried > 0 else { return false }
        try framer.frame(UnsafeRawPointer(storage), carried, onOverlong: onOverlong, body)
        return true
    }

    /// Copies the kept bytes of the unfinished line to `destination` and forgets them (the
    /// line goes on there).
    /// - Returns: the number of bytes copied.
    public func moveOut(to destination: UnsafeMutableRawPointer) -> Int {
        let count = carried
        if count > 0 { destination.copyMemory(from: storage, byteCount: count) }
        carried = 0
        return count
    }

    /// Ends a line being skipped at the `\n` that follows its `count` bytes at `head` (or, with
    /// `head` nil, at the end of the input).
    /// - Returns: the whole line's length, without a final `\r`.
    public func endSkipping(head: UnsafeRawPointer?, count: Int) -> Int {
        let length = lengthWithoutCR(skipped + count, head: head, count: count)
        reset()
        return length
    }

    /// `length` bytes of a line whose last `count` are at `head`, less a final `\r`.
    @inlinable
    func lengthWithoutCR(_ length: Int, head: UnsafeRawPointer?, count: Int) -> Int {
        let cr = if let head, count > 0 { head.load(fromByteOffset: count - 1, as: UInt8.self) == 0x0D } else { endsInCR }
        return cr ? length - 1 : length
    }
}
