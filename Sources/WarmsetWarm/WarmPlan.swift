import CPrefetch
import WarmsetEmit
import WarmsetModel

extension WarmEntry {
    /// The entry for a manifest line.
    public init(_ entry: ManifestEntry) {
        self.init(key: entry.key, path: entry.path ?? "", captures: entry.captures)
    }
}

/// The warm set in rank order, duplicates removed (the first occurrence wins, so that every key
/// is counted exactly once).
public struct WarmPlan: Sendable {
    /// The entries, each key once.
    public private(set) var entries: [WarmEntry]
    /// How many later duplicates of a key were dropped.
    public private(set) var duplicatesDropped: Int

    /// Builds the plan from `entries` in order.
    /// - Complexity: O(n) expected; one key hash per entry. The seen-set is an open-addressing
    ///   table of entry indexes tagged with hash bits (keys are compared only on a tag match),
    ///   probed a block of keys at a time after prefetching their slots: a million-key plan is
    ///   a million random accesses, and overlapping their cache misses makes it several times faster.
    public init(_ entries: consuming [WarmEntry]) {
        var list = entries
        let count = list.count
        var capacity = 16
        while capacity < 2 * count { capacity <<= 1 }
        let mask = capacity - 1
        // A slot: the kept index + 1 in the low 32 bits (0: empty), 32 hash bits above.
        var slots = [UInt64](repeating: 0, count: capacity)
        var kept = 0  // list[..<kept] are the first occurrences, compacted in place
        let block = 16
        var hashes = [Hash128](repeating: Hash128(low: 0, high: 0), count: block)
        slots.withUnsafeMutableBufferPointer { slots in
            var start = 0
            while start < count {
                let end = min(start + block, count)
                for read in start..<end {
                    var key = list[read].key
                    let hash = key.withUTF8 { KeyHash.hash(UnsafeRawBufferPointer($0), seed: 0x7761_726d) }
                    hashes[read - start] = hash
                    warmset_prefetch(slots.baseAddress! + (Int(truncatingIfNeeded: hash.low) & mask))
                }
                for read in start..<end {
                    let hash = hashes[read - start]
                    let tag = hash.high & 0xFFFF_FFFF_0000_0000
                    var at = Int(truncatingIfNeeded: hash.low) & mask
                    while true {
                        let slot = slots[at]
                        if slot == 0 {
                            if kept != read { list.swapAt(kept, read) }
                            kept += 1
                            slots[at] = tag | UInt64(kept)
                            break
                        }
                        if slot & 0xFFFF_FFFF_0000_0000 == tag && list[Int(slot & 0xFFFF_FFFF) - 1].key == list[read].key { break }
                        at = (at + 1) & mask
                    }
                }
                start = end
            }
        }
        list.removeLast(count - kept)
        self.entries = list
        self.duplicatesDropped = count - kept
    }
}
