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
