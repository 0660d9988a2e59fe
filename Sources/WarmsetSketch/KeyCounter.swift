import HeapModule

/// What a counter reports about itself for the summary.
public struct CounterStats: Sendable, Equatable {
    /// Total weight counted (N).
    public var total: UInt64
    /// Estimated distinct keys (exact in exact mode); nil when the sketch is saturated.
    public var distinctKeys: Double?
    /// Bytes of memory the counter holds.
    public var memoryBytes: Int
    /// The additive error bound ε·N (0 when exact).
    public var errorBound: UInt64
    /// True for exact counting.
    public var exact: Bool
}

/// Counts keys: a count-min sketch with a candidate set, or exact counts.
public protocol KeyCounter: AnyObject {
    /// Counts one request for `key`, remembering `path` as its representative request.
    func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64)
    /// The top `limit` keys in rank order.
    func ranked(limit: Int) -> [RankedKey]
    /// Totals and memory, for the summary.
    var stats: CounterStats { get }
}

/// Exact counting in a hash table: memory grows with the number of distinct keys.
public final class ExactCounter: KeyCounter {
    private let table = KeyTable(expectedCount: 1 << 14)
    private var total: UInt64 = 0
    private let seed: UInt64

    /// Creates an empty counter.
    public init(seed: UInt64 = SketchParameters.default.seed) { self.seed = seed }

    /// - Complexity: O(key length) expected; allocates only for a new key.
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
        let hash = KeyHash.hash(key, seed: seed)
        let index = table.find(hash, key: key) ?? table.insert(hash, key: key, path: path)
        table.record(index, count: 1, bytes: UInt64(max(bytes, 0)))
        total &+= 1
    }

    /// - Complexity: O(k log k) for k distinct keys.
    public func ranked(limit: Int) -> [RankedKey] {
        var all = table.entries.map { entry in
            RankedKey(
                key: String(decoding: table.key(of: entry), as: UTF8.self), count: entry.count,
                path: String(decoding: table.path(of: entry), as: UTF8.self), observed: entry.count,
                meanBytes: entry.count > 0 ? entry.bytesSum / entry.count : 0)
        }
        all.sort(by: RankedKey.ranksBefore)
        return Array(all.prefix(limit))
    }

    public var stats: CounterStats {
        CounterStats(total: total, distinctKeys: Double(table.count), memoryBytes: table.memoryBytes, errorBound: 0, exact: true)
    }
}

/// A count-min sketch plus a bounded candidate set for the top N.
///
/// The candidate set holds about twice N keys in a min-heap ordered by their estimate at
/// the time they were last looked at. Estimates only grow, so a heap entry is a lower
/// bound; it is refreshed from the sketch only when it reaches the top of the heap. The
/// heap is touched only when a key's new estimate exceeds the smallest candidate's.
/// Before ranking every candidate is re-queried against the final sketch.
public final class SketchCounter: KeyCounter {
    struct HeapItem: Comparable {
        var estimate: UInt32
        var hash: Hash128
        static func < (a: HeapItem, b: HeapItem) -> Bool { a.estimate < b.estimate }
        static func == (a: HeapItem, b: HeapItem) -> Bool { a.estimate == b.estimate && a.hash == b.hash }
    }

    /// The sketch.
    public let sketch: CountMinSketch
    /// How many candidates are kept.
    public let capacity: Int
    private let table: KeyTable
    private var heap = Heap<HeapItem>()
    private let seed: UInt64

    /// Creates a counter for the top `top` keys.
    /// - Parameters:
    ///   - candidates: how many candidates to keep; at least `top`, 2×`top` by default.
    public init(parameters: SketchParameters, top: Int, candidates: Int? = nil) {
        sketch = CountMinSketch(parameters: parameters)
        capacity = max(candidates ?? 2 * top, top, 1)
        table = KeyTable(expectedCount: capacity)
        seed = parameters.seed
    }

    /// - Complexity: O(d + key length), plus O(log N) when the candidate set changes.
    @inline(__always)
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
        let hash = KeyHash.hash(key, seed: seed)
        let estimate = sketch.add(hash)
        if table.count >= capacity, let smallest = heap.min, estimate <= smallest.estimate { return }
        if let index = table.find(hash, key: key) {
            table.record(index, count: 1, bytes: UInt64(max(bytes, 0)))
            return
        }
        if table.count < capacity {
            admit(hash, key: key, path: path, estimate: estimate, bytes: bytes)
            return
        }
        // Find the true smallest candidate, refreshing stale heap entries on the way.
        while let smallest = heap.min {
            let current = sketch.estimate(smallest.hash)
            if current > smallest.estimate {
                _ = heap.replaceMin(with: HeapItem(estimate: current, hash: smallest.hash))
                continue
            }
            guard estimate > current else { return }
            _ = heap.popMin()
            if let index = table.find(smallest.hash) { table.remove(at: index) }
            admit(hash, key: key, path: path, estimate: estimate, bytes: bytes)
            return
        }
    }

    private func admit(_ hash: Hash128, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, estimate: UInt32, bytes: Int64) {
        let index = table.insert(hash, key: key, path: path)
        table.record(index, count: 1, bytes: UInt64(max(bytes, 0)))
        heap.insert(HeapItem(estimate: estimate, hash: hash))
    }

    /// - Complexity: O(c log c) for c candidates.
    public func ranked(limit: Int) -> [RankedKey] {
        var all = table.entries.map { entry in
            RankedKey(
                key: String(decoding: table.key(of: entry), as: UTF8.self), count: UInt64(sketch.estimate(entry.hash)),
                path: String(decoding: table.path(of: entry), as: UTF8.self), observed: entry.count,
                meanBytes: entry.count > 0 ? entry.bytesSum / entry.count : 0)
        }
        all.sort(by: RankedKey.ranksBefore)
        return Array(all.prefix(limit))
    }

    public var stats: CounterStats {
        CounterStats(
            total: sketch.total, distinctKeys: sketch.distinctEstimate(),
            memoryBytes: sketch.parameters.memoryBytes + table.memoryBytes + heap.count * MemoryLayout<HeapItem>.stride,
            errorBound: sketch.errorBound, exact: false)
    }
}
