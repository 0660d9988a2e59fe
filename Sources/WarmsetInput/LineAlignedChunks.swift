import Glibc
import Foundation
import Synchronization

/// A run of whole lines cut from the input, for one of several parse workers.
public struct LineChunk {
    /// Whole lines, each ending in `\n`, except in the last chunk of the input, whose final
    /// line may have none. Valid until the worker asks for its next chunk.
    public var bytes: UnsafeRawBufferPointer
    /// The chunk's place in the input: 0, 1, 2… (chunk `s` goes to lane `s % lanes`).
    public var sequence: Int
    /// The length of a line longer than a whole buffer that ended just before `bytes`
    /// (it counts as this chunk's first line, and its bytes were dropped).
    public var leadingOverlong: Int?
}

/// Decodes a `ByteSource` on a second thread into a ring of reusable buffers cut at line
/// ends, and hands the buffers out as the chunks of `lanes` lanes.
///
/// The bytes after a buffer's last newline are carried (copied: one partial line) to the
/// start of the next buffer, so every chunk holds whole lines and each lane splits its own
/// chunks without seeing the others'. A line longer than a whole buffer is dropped up to its
/// newline and reported as the next chunk's `leadingOverlong`. Chunk `s` belongs to lane
/// `s % lanes`, so the split depends only on the input. A lane is a unit of work, not a
/// thread: each lane's chunks are handed out in order and one at a time, to whichever thread
/// asks (`next(releasing:lines:)`), so a lane's state (its parser, counter…) is only ever used
/// by one thread at a time and sees its chunks in input order, whichever threads run it.
///
/// When the ring is full the decoding thread does not wait idle: given a `help` function, it
/// takes a chunk of a lane that no thread holds and processes it itself, then goes on
/// decoding. On two cores one parse thread and the decoder then share the parsing, and the
/// result is the same as with any number of threads.
///
/// An error goes to the lane whose turn it was, after the chunks before it; then every lane
/// ends. `deinit` stops the producer and waits for it.
public final class LineAlignedChunks: @unchecked Sendable {
    // @unchecked Sendable: the buffers, queues and flags move between threads only under
    // `condition`; the progress counters are `Atomic`, stored once per buffer read.
    private struct Item {
        var buffer: Int
        var start: Int
        var end: Int
        var sequence: Int
        var leadingOverlong: Int?
        var error: InputError?
        var last: Bool
    }

    private let source: any ByteSource
    private let lanes: Int
    private let buffers: [UnsafeMutableRawBufferPointer]
    /// The bytes of each chunk's window in its buffer.
    private let chunkSize: Int
    /// The unfinished line at the end of a buffer, moved to the start of the next one; a line
    /// that fills a whole buffer is skipped (it cannot fit a chunk with its newline).
    private let carry: LineCarry
    private let condition = NSCondition()
    private var free: [Int]
    private var queues: [[Item]]
    private var holding: [Int?]
    private var busy: [Bool]
    private var finished: [Bool]
    private var linesCounted = 0
    private let help: ((_ lane: Int, _ chunk: LineChunk) -> Int)?
    private var stopRequested = false
    private var producerDone = false
    private let producerConsumed = Atomic<Int64>(0)
    private let producerDecoded = Atomic<Int64>(0)

    /// Starts decoding `source` on a new thread.
    /// - Parameters:
    ///   - lanes: the number of lanes: chunk `s` belongs to lane `s % lanes`.
    ///   - chunkSize: the size of each buffer; lines longer than this are dropped.
    ///   - buffersPerLane: buffers in the ring per lane.
    ///   - help: processes one chunk of a lane on the decoding thread, when the ring is full
    ///     and no thread holds that lane; returns the lines it counted.
    public init(
        _ source: any ByteSource, lanes: Int, chunkSize: Int = 1 << 20, buffersPerLane: Int = 3,
        help: ((_ lane: Int, _ chunk: LineChunk) -> Int)? = nil
    ) {
        precondition(lanes >= 1 && chunkSize >= 16)
        self.source = source
        self.lanes = lanes
        let count = lanes * buffersPerLane + 1
        self.chunkSize = chunkSize
        // 64 bytes more than a chunk: room to start the chunk's window before a boundary (`produce`).
        buffers = (0..<count).map { _ in .allocate(byteCount: chunkSize + 64, alignment: 64) }
        carry = LineCarry(capacity: chunkSize - 1)
        free = Array(0..<count)
        queues = Array(repeating: [], count: lanes)
        holding = Array(repeating: nil, count: lanes)
        busy = Array(repeating: false, count: lanes)
        self.help = help
        finished = Array(repeating: false, count: lanes)
        let thread = Thread { [self] in produce() }
        thread.name = "warmset-inflate"
        thread.start()
    }

    deinit {
        condition.lock()
        stopRequested = true
        condition.broadcast()
        while !producerDone { condition.wait() }
        condition.unlock()
        for buffer in buffers { buffer.deallocate() }
    }

    /// On-disk bytes consumed so far (for progress).
    public var compressedBytesConsumed: Int64 { producerConsumed.load(ordering: .relaxed) }
    /// Decoded bytes read so far.
    public var decodedBytes: Int64 { producerDecoded.load(ordering: .relaxed) }

    /// Waits until the producer thread has left (after every lane has ended, it is about
    /// to); afterwards the source is no longer touched.
    public func waitUntilFinished() {
        condition.lock()
        while !producerDone { condition.wait() }
        condition.unlock()
    }

    /// What a thread is given to do: the next chunk of one lane, or that lane's end.
    public struct Work {
        public var lane: Int
        /// The chunk; nil when the lane's input has ended here.
        public var chunk: LineChunk?
        /// Why the input ended early, on the lane whose turn it was (with `chunk` nil).
        public var error: InputError?
    }

    /// Lines counted so far over all lanes (what `next(releasing:lines:)` and `help` reported).
    public var linesDone: Int {
        condition.lock()
        defer { condition.unlock() }
        return linesCounted
    }

    /// Hands the lane this thread held back (its chunk's buffer returns to the ring), then
    /// waits for the next piece of work: the oldest chunk of a lane no thread holds. The
    /// thread holds that lane until its next call. Nil when every lane has ended.
    /// - Parameters:
    ///   - lane: the lane of the work the previous call gave this thread, if any.
    ///   - lines: the lines counted in that work.
    public func next(releasing lane: Int? = nil, lines: Int = 0) -> Work? {
        condition.lock()
        defer { condition.unlock() }
        if let lane { release(lane, lines: lines) }
        while finished.contains(false) {
            if let lane = takeable(endsToo: true) {
                let item = take(lane)
                if item.last {
                    finished[lane] = true
                    return Work(lane: lane, chunk: nil, error: item.error)
                }
                return Work(lane: lane, chunk: chunk(of: item), error: nil)
            }
            condition.wait()
        }
        return nil
    }

    /// With `condition` held: the lane's next item, the lane now held.
    private func take(_ lane: Int) -> Item {
        busy[lane] = true
        return queues[lane].removeFirst()
    }

    /// With `condition` held: the lane's buffer back to the ring and the lane free.
    private func release(_ lane: Int, lines: Int) {
        if let held = holding[lane] {
            free.append(held)
            holding[lane] = nil
        }
        busy[lane] = false
        linesCounted += lines
        condition.broadcast()
    }

    /// With `condition` held: the free lane whose next item comes first in the input (so the
    /// ring drains in order), or nil. Lane ends only when `endsToo`.
    private func takeable(endsToo: Bool) -> Int? {
        var best: Int?
        for lane in 0..<lanes where !busy[lane] && !finished[lane] {
            guard let head = queues[lane].first, endsToo || !head.last else { continue }
            if best == nil || head.sequence < queues[best!].first!.sequence { best = lane }
        }
        return best
    }

    /// With `condition` held: the chunk an item stands for; its buffer is held by its lane.
    private func chunk(of item: Item) -> LineChunk {
        if item.buffer < 0 {
            return LineChunk(bytes: UnsafeRawBufferPointer(start: nil, count: 0), sequence: item.sequence, leadingOverlong: item.leadingOverlong)
        }
        holding[item.sequence % lanes] = item.buffer
        return LineChunk(
            bytes: UnsafeRawBufferPointer(rebasing: buffers[item.buffer][item.start..<item.end]), sequence: item.sequence,
            leadingOverlong: item.leadingOverlong)
    }

    /// A free buffer to decode into; while there is none, a lane's chunk processed here
    /// (`help`) instead of waiting, when one is waiting and no thread holds its lane.
    private func takeFree() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && !stopRequested {
            if let help, let lane = takeable(endsToo: false) {
                let chunk = chunk(of: take(lane))
                condition.unlock()
                let lines = help(lane, chunk)
                condition.lock()
                release(lane, lines: lines)
                continue
            }
            condition.wait()
        }
        return stopRequested ? nil : free.removeLast()
    }

    private func publish(_ item: Item, lane: Int) {
        condition.lock()
        queues[lane].append(item)
        condition.broadcast()
        condition.unlock()
    }

    private func giveBack(_ buffer: Int) {
        condition.lock()
        free.append(buffer)
        condition.unlock()
    }

    /// Ends every lane: the one whose turn it is gets `last` (with the error, if any) and
    /// the others an empty last item. Then, given `help`, processes the chunks still queued
    /// alongside the parse threads: at the end of the input the ring holds several chunks, and
    /// on two cores the one parse thread worked through them alone while this thread's core
    /// idled. From the end of the input to the last line counted, with the smaller chunks of
    /// `window(sequence:)` near the end too: 1.46 → 0.45 ms (docs/benchmarks.md).
    private func endAll(from sequence: Int, error: InputError?) {
        condition.lock()
        defer { condition.unlock() }
        for offset in 0..<lanes {
            let lane = (sequence + offset) % lanes
            queues[lane].append(Item(buffer: -1, start: 0, end: 0, sequence: sequence, leadingOverlong: nil,
                                     error: offset == 0 ? error : nil, last: true))
        }
        condition.broadcast()
        guard let help, error == nil else { return }
        // A chunk of a lane no thread holds, while one is queued; waiting while the only ones
        // left belong to held lanes (the thread holding one may hand it back with more to do).
        while !stopRequested && queues.contains(where: { $0.first.map { !$0.last } ?? false }) {
            guard let lane = takeable(endsToo: false) else {
                condition.wait()
                continue
            }
            let chunk = chunk(of: take(lane))
            condition.unlock()
            let lines = help(lane, chunk)
            condition.lock()
            release(lane, lines: lines)
        }
    }

    /// The bytes to decode into chunk `sequence`: the whole window, but an eighth of it for the
    /// first chunk (the parse threads wait for it) and a quarter once what is left of the input
    /// would fit the ring (the chunks queued when the input ends are worked through by this
    /// thread and the parse threads together: smaller, they end closer together). Decided by the
    /// input alone (its size and the bytes consumed and decoded so far), so the chunks, and what
    /// each lane counts, do not depend on the threads.
    private func window(sequence: Int) -> Int {
        if sequence == 0 { return Swift.max(chunkSize / 8, 16) }
        let consumed = source.compressedBytesConsumed
        guard let size = source.compressedSize, consumed > 0, size > consumed else { return chunkSize }
        let decodedPerByte = Double(producerDecoded.load(ordering: .relaxed)) / Double(consumed)
        let left = Double(size - consumed) * decodedPerByte
        return left < Double(buffers.count * chunkSize) ? Swift.max(chunkSize / 4, 16) : chunkSize
    }

    /// The offset of the last `\n` in `base[from..<to]`: a backward scan, a line's length
    /// at most when lines fit the buffer (`memrchr` is not in every C library).
    private static func lastNewline(_ base: UnsafeRawPointer, from: Int, to: Int) -> Int? {
        var i = to - 1
        while i >= from {
            if base.load(fromByteOffset: i, as: UInt8.self) == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    private func produce() {
        var sequence = 0
        var pendingOverlong: Int?
        defer {
            condition.lock()
            producerDone = true
            condition.broadcast()
            condition.unlock()
        }
        while let index = takeFree() {
            // The chunk's window starts where the carried bytes end on a 64-byte boundary, so the
            // read after them starts on one: the kernel copies into a destination 1–31 bytes past
            // a boundary five times slower (docs/benchmarks.md). The window is `chunkSize` bytes
            // wherever it starts, so what fits in a chunk does not depend on the carry.
            let origin = (64 &- (carry.keptBytes & 63)) & 63
            let buffer = UnsafeMutableRawBufferPointer(rebasing: buffers[index][origin..<(origin + chunkSize)])
            guard let base = buffer.baseAddress else { return }
            // Safe: the carry keeps at most chunkSize − 1 bytes.
            var filled = carry.moveOut(to: base)
            // A smaller window when one pays (`window(sequence:)`), the whole one when the carried
            // line takes half of it.
            let small = window(sequence: sequence)
            let readEnd = filled < small / 2 ? small : chunkSize
            let n: Int
            do {
                n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<readEnd]))
            } catch {
                giveBack(index)
                endAll(from: sequence, error: error)
                return
            }
            producerConsumed.store(source.compressedBytesConsumed, ordering: .relaxed)
            producerDecoded.add(Int64(n), ordering: .relaxed)
            if n == 0 {
                // End of input: the unfinished line (or the line being skipped) is the last one.
                if carry.isSkipping {
                    publish(Item(buffer: -1, start: 0, end: 0, sequence: sequence, leadingOverlong: carry.endSkipping(head: nil, count: 0), error: nil,
                                 last: false), lane: sequence % lanes)
                    sequence += 1
                    giveBack(index)
                } else if filled > 0 || pendingOverlong != nil {
                    publish(Item(buffer: index, start: origin, end: origin + filled, sequence: sequence, leadingOverlong: pendingOverlong,
                                 error: nil, last: false), lane: sequence % lanes)
                    sequence += 1
                } else {
                    giveBack(index)
                }
                endAll(from: sequence, error: nil)
                return
            }
            filled += n
            var start = 0
            var overlong = pendingOverlong
            pendingOverlong = nil
            if carry.isSkipping {
                guard let hit = memchr(base, 0x0A, filled) else {
                    carry.append(base, count: filled)
                    giveBack(index)
                    continue
                }
                let head = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                overlong = carry.endSkipping(head: base, count: head)
                start = head + 1
            }
            if let last = Self.lastNewline(UnsafeRawPointer(base), from: start, to: filled) {
                let end = last + 1
                carry.append(base + end, count: filled - end)
                publish(Item(buffer: index, start: origin + start, end: origin + end, sequence: sequence, leadingOverlong: overlong,
                             error: nil, last: false), lane: sequence % lanes)
                sequence += 1
                continue
            }
            // No line ends here: the bytes go on in the next buffer, or (a whole buffer of one
            // line) are skipped up to its newline.
            carry.append(base + start, count: filled - start)
            if carry.isSkipping && overlong != nil {
                // Report the earlier overlong line now, in order, before this one.
                publish(Item(buffer: -1, start: 0, end: 0, sequence: sequence, leadingOverlong: overlong, error: nil, last: false),
                        lane: sequence % lanes)
                sequence += 1
            } else {
                pendingOverlong = overlong
            }
            giveBack(index)
        }
    }
}
