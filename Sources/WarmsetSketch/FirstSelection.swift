/// The first `k` elements of an order without sorting the rest: for ranking candidates and for
/// cutting a merged candidate set back to its capacity, where only the first part of the order
/// matters and a full sort of all candidates was most of the time the end of a run took.
extension MutableCollection where Self: RandomAccessCollection, Index == Int {
    /// Moves the `k` elements that come first in `areInIncreasingOrder` (a strict total order:
    /// no two elements equal) to the front, in no particular order; the rest follow, in none.
    /// Quickselect with a median-of-three pivot, falling back to sorting the part left after
    /// 64 rounds, so it is never worse than a sort.
    /// - Complexity: O(n) expected, O(n log n) at worst.
    mutating func selectFirst(_ k: Int, by areInIncreasingOrder: (Element, Element) -> Bool) {
        guard k > 0 && k < count else { return }
        var low = startIndex
        var high = endIndex - 1
        let target = startIndex + k - 1  // the element that ends the first k
        var rounds = 0
        while low < high {
            rounds += 1
            if rounds > 64 {
                self[low...high].sort(by: areInIncreasingOrder)
                return
            }
            // Median of three to the end, as the pivot.
            let middle = low + (high - low) / 2
            if areInIncreasingOrder(self[middle], self[low]) { swapAt(middle, low) }
            if areInIncreasingOrder(self[high], self[low]) { swapAt(high, low) }
            if areInIncreasingOrder(self[middle], self[high]) { swapAt(middle, high) }
            let pivot = self[high]
            var store = low
            for i in low..<high where areInIncreasingOrder(self[i], pivot) {
                swapAt(i, store)
                store += 1
            }
            swapAt(store, high)
            if store == target { return }
            if store < target { low = store + 1 } else { high = store - 1 }
        }
    }

    /// `selectFirst(k)`, then those `k` sorted: the first `k` elements of the sorted order.
    /// - Complexity: O(n + k log k) expected.
    mutating func sortFirst(_ k: Int, by areInIncreasingOrder: (Element, Element) -> Bool) {
        let k = Swift.min(Swift.max(k, 0), count)
        selectFirst(k, by: areInIncreasingOrder)
        self[startIndex..<(startIndex + k)].sort(by: areInIncreasingOrder)
    }
}

/// The order of a ranking by request counts: by a count, most first, then by a word, least first,
/// made by a radix sort (the two 64-bit keys byte by byte, least significant first, each pass
/// stable; bytes every item shares are skipped) rather than by comparisons. On the 20,000
/// candidates a run ranks, the comparison sort's unpredictable branches were most of its 1.6 ms.
enum CountOrder {
    /// The permutation of `0..<n` that puts the items in that order; items whose count and word
    /// are both equal keep their order among themselves (the caller settles them).
    /// - Complexity: O(n) for each byte of the keys that not every item shares (at most 16).
    static func permutation(_ n: Int, count: (Int) -> UInt64, word: (Int) -> UInt64) -> [Int32] {
        guard n > 0 else { return [] }
        // In buffers of its own, not arrays: each array write in the passes was a uniqueness and a
        // bounds check, and the passes were most of the time (1.4 ms of 20,000 candidates' ranking).
        // Each item's keys as one 128-bit number read least significant byte first: the word, then
        // the complemented count (so that a larger count comes first).
        let keys = UnsafeMutablePointer<(low: UInt64, high: UInt64)>.allocate(capacity: n)
        let histogram = UnsafeMutablePointer<Int>.allocate(capacity: 16 * 256)
        var order = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        var next = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let start = UnsafeMutablePointer<Int>.allocate(capacity: 256)
        defer {
            keys.deallocate()
            histogram.deallocate()
            order.deallocate()
            next.deallocate()
            start.deallocate()
        }
        histogram.initialize(repeating: 0, count: 16 * 256)
        for i in 0..<n {
            let key = (low: word(i), high: ~count(i))
            (keys + i).initialize(to: key)
            for b in 0..<8 {
                histogram[b &* 256 &+ Int(truncatingIfNeeded: (key.low >> (8 &* b)) & 0xFF)] &+= 1
                histogram[(8 &+ b) &* 256 &+ Int(truncatingIfNeeded: (key.high >> (8 &* b)) & 0xFF)] &+= 1
            }
            (order + i).initialize(to: Int32(truncatingIfNeeded: i))
        }
        next.initialize(repeating: 0, count: n)
        start.initialize(repeating: 0, count: 256)
        for position in 0..<16 {
            let row = histogram + position &* 256
            // A byte every item shares orders nothing.
            if (0..<256).contains(where: { row[$0] == n }) { continue }
            var sum = 0
            for byte in 0..<256 {
                start[byte] = sum
                sum &+= row[byte]
            }
            let shift = UInt64(8 &* (position & 7))
            let high = position >= 8
            for j in 0..<n {
                let i = order[j]
                let key = keys[Int(i)]
                let byte = Int(truncatingIfNeeded: ((high ? key.high : key.low) >> shift) & 0xFF)
                next[start[byte]] = i
                start[byte] &+= 1
            }
            swap(&order, &next)
        }
        return Array(UnsafeBufferPointer(start: order, count: n))
    }
}
