import Dispatch
import Foundation
import Synchronization
import WarmsetModel

/// The threads of a warm run, for any warmer: the plan split into lanes (a Redis master, a
/// memcached node), `threadsPerLane` worker threads on each lane taking batches until the lane
/// is empty or the run stops, a progress callback every 200 ms, and at the end every key that was
/// never handed out counted as `not_attempted`, so that nothing is lost silently.
public enum WarmWorkers {
    /// Runs `work` on `threadsPerLane` threads per lane and waits for all of them.
    /// - Parameters:
    ///   - work: called once per thread with that thread's batch supply; it should build its
    ///     per-thread state (connections) and then loop on `batches.next()`.
    ///   - progress: called about every 200 ms from a background thread, and once at the end.
    public static func run(
        lanes: [[WarmEntry]], threadsPerLane: Int, batchSize: Int, ledger: WarmLedger,
        progress: (@Sendable (WarmProgress) -> Void)?, work: @escaping @Sendable (WarmBatches) -> Void
    ) {
        let queues = lanes.filter { !$0.isEmpty }.map { WorkQueue($0) }
        let done = Atomic<Bool>(false)
        let tickerExited = DispatchSemaphore(value: 0)
        if let progress {
            Thread {
                while !done.load(ordering: .acquiring) {
                    progress(ledger.progress())
                    Thread.sleep(forTimeInterval: 0.2)
                }
                tickerExited.signal()
            }.start()
        }
        let group = DispatchGroup()
        for queue in queues {
            let batches = WarmBatches(queue: queue, ledger: ledger, size: max(1, batchSize))
            for _ in 0..<max(1, threadsPerLane) {
                group.enter()
                let thread = Thread {
                    work(batches)
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }
        group.wait()
        // Keys left in a queue were never tried: the run stopped first.
        let why = ledger.stopReason ?? "the run stopped"
        for queue in queues {
            for entry in queue.remaining() { ledger.failed(key: entry.key, .notAttempted(why)) }
        }
        done.store(true, ordering: .releasing)
        if let progress {
            tickerExited.wait()  // no tick may land after the last one
            progress(ledger.progress())
        }
    }
}

/// One worker thread's supply of batches from its lane.
public struct WarmBatches: Sendable {
    let queue: WorkQueue
    let ledger: WarmLedger
    let size: Int

    /// The next batch, or nil when the lane is empty or the run has stopped.
    public func next() -> [WarmEntry]? {
        guard !ledger.isStopped, let batch = queue.next(size) else { return nil }
        return Array(batch)
    }
}

/// A lane's entries, handed out in batches to its worker threads.
final class WorkQueue: Sendable {
    private let entries: [WarmEntry]
    private let cursor = Mutex(0)

    init(_ entries: [WarmEntry]) { self.entries = entries }

    /// The next batch of at most `size` entries, or nil when the lane is done.
    func next(_ size: Int) -> ArraySlice<WarmEntry>? {
        cursor.withLock { c in
            guard c < entries.count else { return nil }
            let end = min(entries.count, c + size)
            defer { c = end }
            return entries[c..<end]
        }
    }

    /// Entries never handed out; afterwards the queue is empty.
    func remaining() -> ArraySlice<WarmEntry> {
        cursor.withLock { c in
            defer { c = entries.count }
            return entries[c...]
        }
    }
}
