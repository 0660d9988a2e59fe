import WarmsetModel
import WarmsetSystem
import CByteScan
import HeapModule

/// The candidate set shared by both sketch counters: a count-min sketch plus a bounded set
/// of about twice N keys in a min-heap ordered by their estimate when last looked at.
///
/// Estimates only grow, so a heap entry is a lower bound; it is refreshed from the sketch
/// only when it reaches the top of the heap. The heap is touched only when a key's new
/// estimate exceeds the smallest candidate's. Before ranking every candidate is re-queried
/// against the final sketch (or, right after a merge, its estimates are the ones the merge queried).
///
/// The miss bound: a key turned away had, when it last arrived, an estimate (≥ its true
/// weight) no larger than the smallest candidate's; the smallest candidate's estimate never
/// falls. So any key that is not a candidate has a true weight of at most the final
/// smallest candidate estimate — plus, after merges, the sum of the inputs' miss bounds.
final class CandidateSet<Cell: SketchCell> {
    struct HeapItem: Comparable {
        var estimate: Cell
        var hash: Hash128
        static func < (a: HeapItem, b: HeapItem) -> Bool { a.estimate < b.estimate }
        static func == (a: HeapItem, b: HeapItem) -> Bool { a.estimate == b.estimate && a.hash == b.hash }
    }

    let sketch: CountMinSketch<Cell>
    let capacity: Int
    let table: KeyTable
    var heap = Heap<HeapItem>()
    let seed: UInt64
    var requests: UInt64 = 0
    /// The miss bound carried in from merged sketches (cell units).
    var inheritedMiss: Double = 0
    /// True once a key was turned away or evicted.
    var turnedAway = false
    /// The smallest candidate estimate the last `unite` kept, and `requests` then: `missBound` without
    /// querying every candidate again while nothing was added since (its stats after a merge).
    private var keptSmallest: (requests: UInt64, estimate: Double)?
    /// Every candidate's estimate by entry index as the last `unite` queried them, and `requests`
    /// then: a ranking right after a merge (nothing counted since) reads them instead of querying
    /// every candidate in the sketch again.
    private var united: (requests: UInt64, estimates: [Cell])?

    init(parameters: SketchParameters, capacity: Int, conservative: Bool) {
        sketch = CountMinSketch(parameters: parameters, conservative: conservative)
        self.capacity = max(capacity, 1)
        table = KeyTable(expectedCount: self.capacity)
        seed = parameters.seed
    }

    /// - Complexity: O(d), plus O(log c) when the candidate set changes.
    @inline(__always)
    /// - Parameter requests: how many requests `weight` and `bytes` stand for (more than one
    ///   when hits were counted in a batch).
    func add(
        _ hash: Hash128, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64, weight: Cell,
        requests count: UInt64 = 1
    ) {
        requests &+= count
        let estimate = sketch.add(hash, weight: weight)
        if table.count >= capacity, let smallest = heap.min, estimate <= smallest.estimate {
            turnedAway = true
            return
        }
        // By the hash alone, as eviction finds candidates: its 128 bits stand for the key, and
        // comparing the bytes would wait for one more cache miss (the key's bytes) per request.
        if let index = table.find(hash) {
            table.record(index, count: count, bytes: UInt64(max(bytes, 0)))
            return
        }
        if table.count < capacity {
            admit(hash, key: key, path: path, estimate: estimate, bytes: bytes, count: count)
            return
        }
        turnedAway = true
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
            admit(hash, key: key, path: path, estimate: estimate, bytes: bytes, count: count)
            return
        }
    }

    private func admit(
        _ hash: Hash128, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, estimate: Cell, bytes: Int64, count: UInt64
    ) {
        let index = table.insert(hash, key: key, path: path)
        table.record(index, count: count, bytes: UInt64(max(bytes, 0)))
        heap.insert(HeapItem(estimate: estimate, hash: hash))
    }

    /// Any key that is not a candidate has a true weight of at most this (cell units).
    /// - Complexity: O(1) right after a cut back, else O(c·d).
    func missBound() -> Double {
        guard turnedAway else { return inheritedMiss }
        if let kept = keptSmallest, kept.requests == requests { return Swift.max(inheritedMiss, kept.estimate) }
        return queriedMissBound()
    }

    /// `missBound` from the sketch's current estimates of every candidate.
    /// - Complexity: O(c·d).
    func queriedMissBound() -> Double {
        guard turnedAway else { return inheritedMiss }
        var smallest = Double.infinity
        let entries = table.entries
        sketch.forEachEstimate(count: entries.count, hash: { entries[$0].hash }) { _, estimate in
            smallest = Swift.min(smallest, estimate.doubleValue)
        }
        return Swift.max(inheritedMiss, smallest.isFinite ? smallest : 0)
    }

    /// Candidates re-queried against the sketch, in rank order; scores multiplied by `scale`.
    /// - Complexity: O(c) for request counts (a radix order of all candidates by count and word,
    ///   `CountOrder`, then the runs alike in both among the first `limit` by their bytes),
    ///   O(c + limit log limit) expected for weights (the first `limit` selected, then sorted). The order is `RankedKey.ranksBefore`'s, applied to the candidates' estimates
    ///   and key bytes in the table before any string is made: strings are built for the `limit`
    ///   returned only.
    ///   Keys of equal counts (most of them, on a log of many rarely requested keys) are ordered
    ///   by an integer first, the 8 bytes after the prefix every candidate's key shares
    ///   (`KeyTable.orderWord`), and by their bytes only when those are equal: comparing the bytes
    ///   of two keys in the table for every tie was most of the ranking's time.
    ///   The estimates are queried in two halves at once (`mapEstimates`). Only the first `named`
    ///   keys get their key and path strings (see `KeyCounter.ranked(limit:named:)`). (The strings
    ///   are made on this thread: made on two, they measured slower, 3.0 ms against 1.8 for
    ///   20,000 keys, a second thread's first allocations setting up its own heap.)
    func ranked(limit: Int, named: Int, weighted: Bool, scale: Double) -> [RankedKey] {
        let entries = table.entries
        let table = self.table
        let shared = table.sharedKeyPrefix()
        var order = mapEstimates { i, cell in
            let estimate = cell.doubleValue * scale
            return (estimate: estimate, count: UInt64(estimate.rounded()), word: KeyTable.orderWord(table.key(of: entries[i]), from: shared), index: i)
        }
        if weighted {
            order.sortFirst(limit) { a, b in
                if a.estimate != b.estimate { return a.estimate > b.estimate }
                if a.count != b.count { return a.count > b.count }
                if a.word != b.word { return a.word < b.word }
                return KeyTable.precedes(table.key(of: entries[a.index]), table.key(of: entries[b.index]))
            }
        } else {
            // By count and word without comparisons (`CountOrder`), then the few keys that share
            // both by their bytes: the order the comparisons above give.
            let unsorted = order
            order = CountOrder.permutation(unsorted.count, count: { unsorted[$0].count }, word: { unsorted[$0].word }).map { unsorted[Int($0)] }
            // Only runs that begin among the first `limit` matter (a run across it is sorted whole).
            var start = 0
            while start < Swift.min(order.count, limit) {
                var end = start + 1
                while end < order.count && order[end].count == order[start].count && order[end].word == order[start].word { end += 1 }
                if end - start > 1 {
                    order[start..<end].sort { a, b in KeyTable.precedes(table.key(of: entries[a.index]), table.key(of: entries[b.index])) }
                }
                start = end
            }
        }
        let n = Swift.min(Swift.max(limit, 0), order.count)
        return [RankedKey](unsafeUninitializedCapacity: n) { keys, initialized in
            for k in 0..<n {
                let item = order[k]
                let entry = entries[item.index]
                let key = k < named ? String(decoding: table.key(of: entry), as: UTF8.self) : ""
                let path = k < named ? String(decoding: table.path(of: entry), as: UTF8.self) : ""
                // Made in its place: a local copied in would be a copy and a destroy of its two strings.
                let slot = keys.baseAddress! + k
                slot.initialize(
                    to: RankedKey(
                        key: key, count: item.count, path: path, observed: entry.count,
                        meanBytes: entry.count > 0 ? entry.bytesSum / entry.count : 0))
                if weighted { slot.pointee.score = item.estimate }
            }
            initialized = n
        }
    }

    /// `transform(i, estimate)` for each entry `i` of the table, in entry order: the sketch
    /// queried in two halves at once (`Parallel`) from `parallelFrom` entries (each half reads
    /// the sketch and the table, and writes only its own part of the result), or the estimates
    /// the last merge queried when nothing was counted since (`united`).
    /// - Complexity: O(c·d).
    @inline(__always)
    private func mapEstimates<T>(_ transform: (Int, Cell) -> T) -> [T] {
        let entries = table.entries
        let sketch = self.sketch
        let parts = entries.count >= Self.parallelFrom ? 2 : 1
        // Right after a merge, nothing counted since: the estimates it queried.
        let known = united.flatMap { $0.requests == requests && $0.estimates.count == entries.count ? $0.estimates : nil }
        return [T](unsafeUninitializedCapacity: entries.count) { items, initialized in
            Parallel.forEach(parts) { part in
                let range = Parallel.piece(part, of: parts, count: entries.count)
                if let known {
                    for i in range { (items.baseAddress! + i).initialize(to: transform(i, known[i])) }
                    return
                }
                sketch.forEachEstimate(count: range.count, hash: { entries[range.lowerBound + $0].hash }) { j, cell in
                    (items.baseAddress! + range.lowerBound + j).initialize(to: transform(range.lowerBound + j, cell))
                }
            }
            initialized = entries.count
        }
    }

    /// How many candidates make `mapEstimates` query the sketch on two threads: below it, waking
    /// a second thread costs about as much as it saves.
    static var parallelFrom: Int { 4096 }

    var memoryBytes: Int {
        sketch.memoryBytes + table.memoryBytes + heap.count * MemoryLayout<HeapItem>.stride
    }

    /// The candidates as a snapshot holds them.
    func snapshotCandidates() -> [SketchSnapshot.Candidate] {
        table.entries.map { entry in
            SketchSnapshot.Candidate(
                key: Array(table.key(of: entry)), path: Array(table.path(of: entry)), observed: entry.count,
                bytesSum: entry.bytesSum)
        }
    }

    /// Unions `candidates` into the set after the table has absorbed their sketch (`unite`).
    /// - Parameters:
    ///   - selfMiss: this set's miss bound before the merge.
    ///   - otherMiss: the other side's miss bound, in this set's units.
    /// - Complexity: O(c + c') expected.
    func union(_ candidates: [SketchSnapshot.Candidate], selfMiss: Double, otherMiss: Double) {
        // By the hash alone, as every request's lookup finds a candidate.
        let hashes = candidates.map { candidate in candidate.key.withUnsafeBytes { KeyHash.hash($0, seed: seed) } }
        unite(
            candidates.count, hash: { hashes[$0] },
            candidate: { i, body in
                let candidate = candidates[i]
                candidate.key.withUnsafeBytes { key in
                    candidate.path.withUnsafeBytes { path in body(key, path, candidate.observed, candidate.bytesSum) }
                }
            }, selfMiss: selfMiss, otherMiss: otherMiss)
    }

    /// Unites another set's candidates with this one's, read in place from its table in its
    /// order (what `other.snapshotCandidates()` would hold) without copying or hashing their keys
    /// again (`other` has this set's seed, so its hashes are this set's), while `summing` adds
    /// the other set's sketch to this one (`unite`).
    func absorb(_ other: CandidateSet<Cell>, summing: () -> Void, selfMiss: Double, otherMiss: Double) {
        precondition(other !== self && other.seed == seed)
        let theirs = other.table
        let entries = theirs.entries
        unite(
            entries.count, hash: { entries[$0].hash },
            candidate: { i, body in
                let entry = entries[i]
                body(theirs.key(of: entry), theirs.path(of: entry), entry.count, entry.bytesSum)
            }, alongside: summing, selfMiss: selfMiss, otherMiss: otherMiss)
    }

    /// A candidate of the union in `unite`: this table's entry `source`, or (negative) the other
    /// side's candidate `~source`, with its estimate in the merged sketch.
    private struct UnionItem {
        var item: HeapItem
        var source: Int
    }

    /// Unites `n` other candidates (candidate `i` with hash `hash(i)`; `candidate(i, body)` calls
    /// `body` with its key, path, observed requests and bytes) with this set's, after the sketch
    /// has theirs added, and keeps the `capacity` of the union with the largest merged estimates
    /// (ties by hash, so the result does not depend on merge order). A candidate both sides hold
    /// adds its observed counts to this side's entry, which keeps its path.
    ///
    /// Which candidates stay is decided before the table changes: the table is searched for
    /// theirs (on a second thread, while `alongside` runs: the sketch's sum, which the estimates
    /// then read), every candidate of the union queried in the merged sketch, the first
    /// `capacity` selected; then this side's candidates that lost are removed and only their
    /// winners are added, so the table never holds more than `capacity` (adding all and cutting
    /// back grew the table, its slots and its arena, for candidates mostly cut again).
    /// - Complexity: O(c + n) expected.
    private func unite(
        _ n: Int, hash: (Int) -> Hash128,
        candidate: (Int, (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UInt64, UInt64) -> Void) -> Void,
        alongside: () -> Void = {}, selfMiss: Double, otherMiss: Double
    ) {
        inheritedMiss = selfMiss + otherMiss
        turnedAway = false
        let table = self.table
        // Each of their candidates' entry here, or -1. The slot is loaded 8 candidates ahead and
        // the entry it names 4 ahead (each lookup reads this table only).
        var found = [Int](repeating: -1, count: n)
        found.withUnsafeMutableBufferPointer { found in
            Parallel.both(alongside) {
                withLookahead(count: n, ahead: 8, prefetch: { i in
                    table.prefetch(hash(i))
                    if i >= 4 { table.prefetchEntry(hash(i - 4)) }
                }) { i in found[i] = table.find(hash(i)) ?? -1 }
            }
        }
        var fresh: [Int] = []
        for i in 0..<n {
            if found[i] >= 0 {
                candidate(i) { _, _, observed, bytes in table.record(found[i], count: observed, bytes: bytes) }
            } else {
                fresh.append(i)
            }
        }
        // The union's hashes in one array, then their estimates in the merged sketch in two halves at once.
        let entries = table.entries
        var items = [UnionItem]()
        items.reserveCapacity(entries.count + fresh.count)
        for e in entries.indices { items.append(UnionItem(item: HeapItem(estimate: .zero, hash: entries[e].hash), source: e)) }
        for i in fresh { items.append(UnionItem(item: HeapItem(estimate: .zero, hash: hash(i)), source: ~i)) }
        let sketch = self.sketch
        let parts = items.count >= Self.parallelFrom ? 2 : 1
        items.withUnsafeMutableBufferPointer { items in
            Parallel.forEach(parts) { part in
                let range = Parallel.piece(part, of: parts, count: items.count)
                sketch.forEachEstimate(count: range.count, hash: { items[range.lowerBound + $0].item.hash }) { j, cell in
                    items[range.lowerBound + j].item.estimate = cell
                }
            }
        }
        // This side's estimates by entry index, kept in step with the table below (`united`).
        var estimates = [Cell](repeating: .zero, count: entries.count)
        for unit in items where unit.source >= 0 { estimates[unit.source] = unit.item.estimate }
        if items.count > capacity {
            // Which `capacity` stay is all that matters (the heap orders them): selected, not sorted.
            items.selectFirst(capacity) { a, b in
                if a.item.estimate != b.item.estimate { return a.item.estimate > b.item.estimate }
                return (a.item.hash.high, a.item.hash.low) < (b.item.hash.high, b.item.hash.low)
            }
            // From the last entry down: the entry that fills a removed one's index (the last) is
            // then one that stays.
            let lost = items[capacity...].compactMap { $0.source >= 0 ? $0.source : nil }.sorted(by: >)
            for index in lost {
                table.remove(at: index)
                // As the table does: its last entry takes the removed one's index.
                estimates[index] = estimates[estimates.count - 1]
                estimates.removeLast()
            }
            items.removeLast(items.count - capacity)
            // Pruned keys: true weight ≤ their estimate ≤ the smallest kept one.
            turnedAway = true
            if let smallest = items.min(by: { $0.item < $1.item }) { keptSmallest = (requests, smallest.item.estimate.doubleValue) }
        }
        // Their winners, in their order, with their estimates.
        var winning = [Cell?](repeating: nil, count: n)
        for unit in items where unit.source < 0 { winning[~unit.source] = unit.item.estimate }
        for i in fresh {
            guard let estimate = winning[i] else { continue }
            estimates.append(estimate)
            let hash = hash(i)
            candidate(i) { key, path, observed, bytes in
                let index = table.insert(hash, key: key, path: path)
                table.record(index, count: observed, bytes: bytes)
            }
        }
        heap = Heap(items.map(\.item))
        united = (requests, estimates)
    }
}

extension CandidateSet where Cell == Double {
    /// Multiplies every weight by `factor` (forward decay's renormalization).
    /// - Complexity: O(d·w + c).
    func scale(by factor: Double) {
        sketch.scale(by: factor)
        keptSmallest = nil
        united = nil
        heap = Heap(heap.unordered.map { HeapItem(estimate: $0.estimate * factor, hash: $0.hash) })
        inheritedMiss *= factor
    }
}

/// A sketch counter that can be saved, and merged with saved sketches.
public protocol MergeableCounter: KeyCounter {
    /// The counter's state as a snapshot (for a sketch file).
    /// - Complexity: O(d·w + c).
    func snapshot() -> SketchSnapshot
    /// Adds a saved sketch: the tables are summed, the candidate sets united and re-ranked.
    /// - Parameter name: the snapshot's file name, for errors.
    /// - Throws: `SketchError.Kind.incompatible` unless made with the same settings.
    func merge(_ snapshot: SketchSnapshot, name: String) throws(SketchError)
}

/// Request counting: a count-min sketch of 32-bit counters plus a bounded candidate set for
/// the top N. This is the default and the fast path.
///
/// Each `add` is carried out two calls late, in stages: it hashes the new key and prefetches
/// that key's d counters and its first candidate slot; it reads the slot of the key before it
/// (loaded by now) and prefetches the candidate entry it names; and it counts the key before
/// that, whose counters, slot and entry are then in cache. The random cache misses per request
/// overlap with the work of the next lines instead of stalling each other. Everything that
/// reads the counter (`core`, `sketch`, ranking, stats, snapshots, merges) first counts the
/// pending keys, in order, so no reader ever sees one missing.
public final class SketchCounter: MergeableCounter {
    /// A key waiting to be counted: its hash, bytes sent and its key and path bytes.
    private struct Pending {
        var hash = Hash128(low: 0, high: 0)
        var bytes: Int64 = 0
        var keyLength = 0
        var pathLength = 0
        var buffer: UnsafeMutableRawPointer
        var capacity: Int

        init() {
            capacity = 512
            buffer = .allocate(byteCount: capacity, alignment: 16)
        }

        /// Holds `key` and `path` (growing the buffer when they are longer than any before).
        mutating func hold(_ hash: Hash128, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
            let needed = key.count + path.count
            if needed > capacity {
                buffer.deallocate()
                capacity = max(needed, 2 * capacity)
                buffer = .allocate(byteCount: capacity, alignment: 16)
            }
            // Short copies without a memcpy call each (`warmset_copy`).
            if let base = key.baseAddress { warmset_copy(buffer, base, key.count) }
            if let base = path.baseAddress { warmset_copy(buffer + key.count, base, path.count) }
            self.hash = hash
            self.bytes = bytes
            keyLength = key.count
            pathLength = path.count
        }

        var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer, count: keyLength) }
        var path: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer + keyLength, count: pathLength) }
    }

    private let candidates: CandidateSet<UInt32>
    private let seed: UInt64
    /// The key two calls back (counted at the next call) and the one before it.
    private var older = Pending()
    private var newer = Pending()
    private var hasOlder = false
    private var hasNewer = false

    /// The candidates and sketch, with every `add` so far counted.
    var core: CandidateSet<UInt32> {
        flush()
        return candidates
    }

    /// The sketch.
    public var sketch: CountMinSketch<UInt32> { core.sketch }
    /// How many candidates are kept.
    public var capacity: Int { candidates.capacity }

    /// Creates a counter for the top `top` keys.
    /// - Parameters:
    ///   - candidates: how many candidates to keep; at least `top`, 2×`top` by default.
    ///   - conservative: conservative update (the default) or plain update.
    public init(parameters: SketchParameters, top: Int, candidates: Int? = nil, conservative: Bool = true) {
        self.candidates = CandidateSet(parameters: parameters, capacity: max(candidates ?? 2 * top, top, 1), conservative: conservative)
        seed = parameters.seed
    }

    deinit {
        older.buffer.deallocate()
        newer.buffer.deallocate()
    }

    /// - Complexity: O(d + key length), plus O(log N) when the candidate set changes; no
    ///   allocation unless a key and path are longer than any before.
    /// `@inline(never)`: inlined into its protocol witness thunk (the per-line loop calls it
    /// through `any KeyCounter`), the C prefetch helpers stayed calls there (three per add).
    @inline(never)
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
        let hash = KeyHash.hash(key, seed: seed)
        candidates.sketch.prefetch(hash)
        candidates.table.prefetch(hash)
        countOlder()
        if hasNewer {
            candidates.table.prefetchEntry(newer.hash)
            swap(&older, &newer)
            hasOlder = true
        }
        newer.hold(hash, key: key, path: path, bytes: bytes)
        hasNewer = true
    }

    /// Counts `count` requests for `key` at once, moving `bytes` in all: what `count` calls of
    /// `add(key:path:bytes:)` would count (conservative update raising the key's counters to
    /// their minimum plus `count` is the same as raising them by one `count` times).
    /// - Complexity: that of one `add`.
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, count: UInt32, bytes: Int64) {
        guard count > 0 else { return }
        flush()
        candidates.add(KeyHash.hash(key, seed: seed), key: key, path: path, bytes: bytes, weight: count, requests: UInt64(count))
    }

    /// `add(key:path:count:bytes:)` for `n` items in order, each item's counters and
    /// candidate slot loaded 8 items ahead (one item's cache misses at a time would leave the
    /// memory system idle): for passing a memo's batched hits on at the end of a run. Each key
    /// is hashed once; `item(i)` is asked twice for the same `i`; an item with a count of 0 is
    /// skipped.
    public func addAll(
        _ n: Int, item: (Int) -> (key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, count: UInt32, bytes: Int64)
    ) {
        flush()
        // The hashes of the items prefetched and not yet counted: at most 9 at a time, in a ring of 16.
        withUnsafeTemporaryAllocation(of: Hash128.self, capacity: 16) { ring in
            withLookahead(count: n, ahead: 8, prefetch: { i in
                let hash = KeyHash.hash(item(i).key, seed: seed)
                ring[i & 15] = hash
                candidates.sketch.prefetch(hash)
                candidates.table.prefetch(hash)
            }) { i in
                let (key, path, count, bytes) = item(i)
                guard count > 0 else { return }
                candidates.add(ring[i & 15], key: key, path: path, bytes: bytes, weight: count, requests: UInt64(count))
            }
        }
    }

    /// Counts the key two calls back, if any.
    @inline(__always)
    private func countOlder() {
        guard hasOlder else { return }
        hasOlder = false
        candidates.add(older.hash, key: older.key, path: older.path, bytes: older.bytes, weight: 1)
    }

    /// Counts the pending keys, in the order they came.
    @inline(__always)
    func flush() {
        countOlder()
        guard hasNewer else { return }
        swap(&older, &newer)
        hasOlder = true
        hasNewer = false
        countOlder()
    }

    /// - Complexity: O(c log c) for c candidates.
    public func ranked(limit: Int) -> [RankedKey] { ranked(limit: limit, named: limit) }

    public func ranked(limit: Int, named: Int) -> [RankedKey] { core.ranked(limit: limit, named: named, weighted: false, scale: 1) }

    public var stats: CounterStats {
        CounterStats(
            total: core.requests, weightTotal: sketch.totalWeight, distinctKeys: sketch.distinctEstimate(),
            memoryBytes: core.memoryBytes, errorBound: sketch.errorBound,
            errorBoundWeight: sketch.errorBoundWeight, missBound: core.missBound(), exact: false, tracked: core.table.count,
            parameters: sketch.parameters)
    }

    public func snapshot() -> SketchSnapshot {
        var cells: [UInt8] = []
        cells.reserveCapacity(sketch.cellCount * 4)
        sketch.appendLittleEndianCells(to: &cells)
        return SketchSnapshot(
            parameters: sketch.parameters, cellKind: .uint32, conservative: sketch.conservative, weight: .requests,
            halfLifeSeconds: 0, landmark: nil, oldest: nil, newest: nil, total: sketch.totalWeight, requests: core.requests,
            missBound: core.missBound(), capacity: core.capacity, cells: cells, candidates: core.snapshotCandidates())
    }

    public func merge(_ other: SketchSnapshot, name: String) throws(SketchError) {
        try snapshotShape.checkMergeable(with: other, name: "this run", otherName: name)
        let selfMiss = core.missBound()
        other.cells.withUnsafeBytes { sketch.add(littleEndianCells: $0, total: other.total) }
        core.requests &+= other.requests
        core.union(other.candidates, selfMiss: selfMiss, otherMiss: other.missBound)
    }

    /// A cell-less snapshot describing the settings, for compatibility checks.
    var snapshotShape: SketchSnapshot {
        SketchSnapshot(
            parameters: sketch.parameters, cellKind: .uint32, conservative: sketch.conservative, weight: .requests,
            halfLifeSeconds: 0, landmark: nil, oldest: nil, newest: nil, total: 0, requests: 0, missBound: 0,
            capacity: core.capacity, cells: [], candidates: [])
    }
}

/// Weighted and/or decayed counting: a count-min sketch of 64-bit float counters plus a
/// bounded candidate set, ranking by total weight (`--weight bytes|time`) and/or by
/// forward-decayed weight (`--half-life`).
public final class WeightedSketchCounter: MergeableCounter, WeightedKeyCounter {
    let core: CandidateSet<Double>
    private let seed: UInt64
    /// What a request weighs (recorded in the sketch file).
    public let weight: SketchWeight
    /// The decay, when decaying.
    public private(set) var decay: ForwardDecay?

    /// The sketch.
    public var sketch: CountMinSketch<Double> { core.sketch }

    /// Creates a counter for the top `top` keys.
    /// - Parameters:
    ///   - weight: what a request weighs (the caller passes the weight to `add`).
    ///   - halfLifeSeconds: decay by log time with this half-life.
    public init(
        parameters: SketchParameters, top: Int, candidates: Int? = nil, conservative: Bool = true,
        weight: SketchWeight, halfLifeSeconds: Int64?
    ) {
        core = CandidateSet(parameters: parameters, capacity: max(candidates ?? 2 * top, top, 1), conservative: conservative)
        seed = parameters.seed
        self.weight = weight
        decay = halfLifeSeconds.map { ForwardDecay(halfLifeSeconds: $0) }
    }

    /// Counts a request of weight 1 at no particular time.
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
        add(key: key, path: path, bytes: bytes, weight: 1, time: nil)
    }

    /// - Complexity: O(d + key length), plus O(log N) when the candidate set changes, plus
    ///   O(d·w) once per 64 half-lives of log time (renormalization).
    @inline(__always)
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64, weight: Double, time: Int64?) {
        var w = weight
        if let decayed = decay?.weigh(weight, at: time, rescale: { core.scale(by: $0) }) { w = decayed }
        guard w > 0 else {
            core.requests &+= 1
            return
        }
        core.add(KeyHash.hash(key, seed: seed), key: key, path: path, bytes: bytes, weight: w)
    }

    /// Scores are total weights, or decayed weights as of the newest log time.
    /// - Complexity: O(c log c) for c candidates.
    public func ranked(limit: Int) -> [RankedKey] { ranked(limit: limit, named: limit) }

    public func ranked(limit: Int, named: Int) -> [RankedKey] {
        core.ranked(limit: limit, named: named, weighted: true, scale: decay?.displayScale ?? 1)
    }

    public var stats: CounterStats {
        let scale = decay?.displayScale ?? 1
        return CounterStats(
            total: core.requests, weightTotal: sketch.totalWeight * scale, distinctKeys: sketch.distinctEstimate(),
            memoryBytes: core.memoryBytes, errorBound: UInt64((sketch.errorBoundWeight * scale).rounded(.up)),
            errorBoundWeight: sketch.errorBoundWeight * scale, missBound: core.missBound() * scale, exact: false, weighted: true,
            tracked: core.table.count, parameters: sketch.parameters)
    }

    public func snapshot() -> SketchSnapshot {
        var cells: [UInt8] = []
        cells.reserveCapacity(sketch.cellCount * 8)
        sketch.appendLittleEndianCells(to: &cells)
        var s = snapshotShape
        s.landmark = decay?.landmark
        s.oldest = decay?.oldest
        s.newest = decay?.newest
        s.total = sketch.totalWeight
        s.requests = core.requests
        s.missBound = core.missBound()
        s.cells = cells
        s.candidates = core.snapshotCandidates()
        return s
    }

    public func merge(_ other: SketchSnapshot, name: String) throws(SketchError) {
        try snapshotShape.checkMergeable(with: other, name: "this run", otherName: name)
        var otherFactor = 1.0
        if var d = decay, let otherDecay = other.decay {
            let factors = d.merge(otherDecay)
            if factors.selfFactor != 1 { core.scale(by: factors.selfFactor) }
            otherFactor = factors.otherFactor
            decay = d
        }
        let selfMiss = core.missBound()
        other.cells.withUnsafeBytes { sketch.add(littleEndianCells: $0, total: other.total, scaledBy: otherFactor) }
        core.requests &+= other.requests
        core.union(other.candidates, selfMiss: selfMiss, otherMiss: other.missBound * otherFactor)
    }

    var snapshotShape: SketchSnapshot {
        SketchSnapshot(
            parameters: sketch.parameters, cellKind: .float64, conservative: sketch.conservative, weight: weight,
            halfLifeSeconds: decay?.halfLifeSeconds ?? 0, landmark: nil, oldest: nil, newest: nil, total: 0, requests: 0,
            missBound: 0, capacity: core.capacity, cells: [], candidates: [])
    }
}
