import Glibc
import Dispatch
import Synchronization

/// Decoded bytes handed out a chunk at a time; each chunk stays valid until the next call.
public protocol ChunkSource: AnyObject {
    /// The next chunk of decoded bytes, or nil at the end.
    /// - Throws: the underlying source's `InputError`.
    func nextChunk() throws(InputError) -> UnsafeRawBufferPointer?
    /// On-disk bytes consumed so far (for progress).
    var compressedBytesConsumed: Int64 { get }
    /// Decoded bytes handed out so far.
    var decodedBytes: Int64 { get }
}

/// Reads a `ByteSource` on the calling thread into one reusable buffer.
public final class DirectChunks: ChunkSource {
    private let source: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    public private(set) var decodedBytes: Int64 = 0

    /// Wraps `source`, reading `chunkSize` bytes at a time.
    public init(_ source: any ByteSource, chunkSize: Int = 512 * 1024) {
        self.source = source
        buffer = .allocate(byteCount: chunkSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    public var compressedBytesConsumed: Int64 { source.compressedBytesConsumed }

    public func nextChunk() throws(InputError) -> UnsafeRawBufferPointer? {
        let n = try source.read(into: buffer)
        if n == 0 { return nil }
        decodedBytes += Int64(n)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<n])
    }
}

/// Decodes a `ByteSource` on a second thread into a small ring of reusable buffers, so
/// that inflating one buffer overlaps with parsing the previous one.
///
/// The producer fills a free buffer and publishes it; the consumer takes buffers in order
/// and returns each one when it asks for the next. Errors reach the consumer in order,
/// after the bytes that came before them. `deinit` stops the producer and waits for it.
public final class PrefetchedChunks: ChunkSource, @unchecked Sendable {
    // @unchecked Sendable: a ring slot's bytes are handed between the two threads only through
    // the semaphores; what each slot holds (its count or error), the stop flag and the progress
    // counter are behind a `Mutex` or `Atomic`, touched once per chunk, never per line.
    private struct Slot {
        var count = 0
        var error: InputError?
    }

    private let source: any ByteSource
    private let buffers: [UnsafeMutableRawBufferPointer]
    private let slots: Mutex<[Slot]>
    private let filled = DispatchSemaphore(value: 0)
    private let free: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)
    private var consumerIndex = 0
    private var holding = false
    private let stopRequested = Atomic<Bool>(false)
    private let producerConsumed = Atomic<Int64>(0)
    private let decoded = Atomic<Int64>(0)
    private var finished = false

    /// Decoded bytes handed out so far (readable from any thread).
    public var decodedBytes: Int64 { decoded.load(ordering: .relaxed) }

    /// Starts decoding `source` on a new thread (named `threadName`) into `count` buffers of
    /// `chunkSize` bytes.
    public init(_ source: any ByteSource, chunkSize: Int = 1 << 20, count: Int = 4, threadName: String = "warmset-inflate") {
        self.source = source
        buffers = (0..<count).map { _ in .allocate(byteCount: chunkSize, alignment: 64) }
        slots = Mutex([Slot](repeating: Slot(), count: count))
        free = DispatchSemaphore(value: count)
        let thread = Thread { [self] in produce() }
        thread.name = threadName
        thread.start()
    }

    deinit {
        // Stop the producer: it checks the flag after each buffer; hand it free slots so it
        // is never left waiting, then wait until it has left.
        stopRequested.store(true, ordering: .relaxed)
        for _ in buffers { free.signal() }
        done.wait()
        for buffer in buffers { buffer.deallocate() }
    }

    /// On-disk bytes consumed so far (readable from any thread).
    public var compressedBytesConsumed: Int64 { producerConsumed.load(ordering: .relaxed) }

    private func produce() {
        var index = 0
        while true {
            free.wait()
            if stopRequested.load(ordering: .relaxed) { break }
            var n = 0
            var failure: InputError?
            do {
                n = try source.read(into: buffers[index])
            } catch {
                failure = error
            }
            producerConsumed.store(source.compressedBytesConsumed, ordering: .relaxed)
            slots.withLock { [index] in $0[index] = Slot(count: n, error: failure) }
            let last = n == 0
            filled.signal()
            if last { break }
            index = (index + 1) % buffers.count
        }
        done.signal()
    }

    public func nextChunk() throws(InputError) -> UnsafeRawBufferPointer? {
        if finished { return nil }
        if holding {
            free.signal()
            consumerIndex = (consumerIndex + 1) % buffers.count
            holding = false
        }
        filled.wait()
        let slot = slots.withLock { [consumerIndex] in $0[consumerIndex] }
        if let error = slot.error {
            finished = true
            throw error
        }
        let n = slot.count
        if n == 0 {
            finished = true
            return nil
        }
        holding = true
        decoded.add(Int64(n), ordering: .relaxed)
        return UnsafeRawBufferPointer(rebasing: buffers[consumerIndex][0..<n])
    }
}

import Foundation
