import WarmsetSystem
/// Request counts in 16-bit cells, a cell promoted to a 32-bit count in a side table once it
/// reaches 65,535: the count-min table of request counts in half the memory of 32-bit cells,
/// holding the same values (docs/sketch.md). The two parse lanes' tables then take 8 MiB of the
/// last-level cache instead of 16, and each update's cache misses are half as likely to go to
/// memory.
///
/// A promoted cell keeps 0xFFFF in its 16 bits and its count in the side table. Counts only grow,
/// so a cell, once promoted, stays promoted; with conservative update a row's cells sum to at most
/// N, so at most N/65,535 cells of a row are ever promoted.
final class PromotedCells {
    /// The marker of a promoted cell.
    private static let promotedMark = UInt16.max
    /// The cells: a count below 65,535, or the marker.
    let narrow: UnsafeMutablePointer<UInt16>
    /// How many cells.
    let count: Int
    /// The side table: open addressing (linear probing) from a cell's index to its count; an
    /// index of -1 is an empty slot. Allocated once, grown only when cells are promoted.
    private var indexes: UnsafeMutablePointer<Int>
    private var counts: UnsafeMutablePointer<UInt32>
    private var mask: Int
    /// Promoted cells.
    private(set) var promoted = 0

    /// Creates `count` zero cells.
    /// - Complexity: O(1) for 64 KiB and more (zero pages mapped, `ZeroedMemory`), else O(count).
    init(count: Int) {
        precondition(count % 4 == 0)
        self.count = count
        narrow = ZeroedMemory.allocate(count: count)
        mask = 63
        indexes = .allocate(capacity: mask + 1)
        indexes.initialize(repeating: -1, count: mask + 1)
        counts = .allocate(capacity: mask + 1)
    }

    deinit {
        ZeroedMemory.free(narrow, count: count)
        indexes.deallocate()
        counts.deallocate()
    }

    /// Bytes held: the cells and the side table.
    var memoryBytes: Int { count * 2 + (mask + 1) * (MemoryLayout<Int>.stride + 4) }

    /// The count of cell `i`.
    /// - Complexity: O(1); a promoted cell costs a side-table lookup.
    @inline(__always)
    subscript(i: Int) -> UInt32 {
        get {
            let cell = narrow[i]
            return cell != Self.promotedMark ? UInt32(cell) : promotedCount(i)
        }
        set {
            if newValue < UInt32(Self.promotedMark) && narrow[i] != Self.promotedMark {
                narrow[i] = UInt16(truncatingIfNeeded: newValue)
            } else {
                promote(i, to: newValue)
            }
        }
    }

    /// Where cell `i` lives, for a prefetch.
    @inline(__always)
    func address(_ i: Int) -> UnsafeMutablePointer<UInt16> { narrow + i }

    /// Conservative update of one key's four cells (`i0`…`i3`, distinct) by `weight`, when none
    /// is promoted and the new estimate stays below the marker: each cell below the minimum plus
    /// `weight` is raised to it, as the general loop does through `subscript`, in one pass with
    /// the indexes computed once. Returns the new estimate, or nil (nothing changed) for the
    /// general loop to do it: a promoted cell, or a cell about to be promoted.
    /// - Complexity: O(1).
    @inline(__always)
    func conservativeAdd4(_ i0: Int, _ i1: Int, _ i2: Int, _ i3: Int, weight: UInt32) -> UInt32? {
        let c0 = narrow[i0], c1 = narrow[i1], c2 = narrow[i2], c3 = narrow[i3]
        // The marker is the largest value: a promoted cell makes the maximum the marker.
        guard Swift.max(Swift.max(c0, c1), Swift.max(c2, c3)) != Self.promotedMark else { return nil }
        let estimate = UInt32(Swift.min(Swift.min(c0, c1), Swift.min(c2, c3)))
        let (target, overflow) = estimate.addingReportingOverflow(weight)
        guard !overflow, target < UInt32(Self.promotedMark) else { return nil }
        let narrowTarget = UInt16(truncatingIfNeeded: target)
        // Each cell stored whether it rises or not (the larger of it and the target): which of a
        // new key's cells sit at its minimum is a coin toss, and a branch on it was mispredicted
        // about once an add; the four lines are in the cache, fetched for writing (`prefetch`).
        narrow[i0] = Swift.max(c0, narrowTarget)
        narrow[i1] = Swift.max(c1, narrowTarget)
        narrow[i2] = Swift.max(c2, narrowTarget)
        narrow[i3] = Swift.max(c3, narrowTarget)
        return target
    }

    /// Adds every cell of `other` (as many cells), saturating at `UInt32.max`: four cells a word
    /// where none of the eight is 32,768 or more (their sums then stay below the marker), one at a
    /// time elsewhere.
    /// - Complexity: O(count).
    func add(contentsOf other: PromotedCells) {
        precondition(other.count == count)
        let high: UInt64 = 0x8000_8000_8000_8000
        let to = UnsafeMutableRawPointer(narrow)
        let from = UnsafeRawPointer(other.narrow)
        for word in 0..<(count / 4) {
            let a = to.load(fromByteOffset: word &* 8, as: UInt64.self)
            let b = from.load(fromByteOffset: word &* 8, as: UInt64.self)
            if (a | b) & high == 0 {
                to.storeBytes(of: a &+ b, toByteOffset: word &* 8, as: UInt64.self)
                continue
            }
            for i in (word &* 4)..<(word &* 4 &+ 4) { self[i] = self[i].saturatingAdd(other[i]) }
        }
    }

    /// How many of the first `n` cells are zero.
    /// - Complexity: O(n).
    func zeros(_ n: Int) -> Int {
        var zeros = 0
        for i in 0..<n where narrow[i] == 0 { zeros &+= 1 }
        return zeros
    }

    /// The side table's slot for cell `i`: where it is, or the empty slot where it would go.
    @inline(__always)
    private func slot(_ i: Int) -> Int {
        // Fibonacci hashing: cell indexes of one key's rows are far apart, but promoted cells of
        // one row may be close together.
        var s = Int(truncatingIfNeeded: UInt64(truncatingIfNeeded: i) &* 0x9e37_79b9_7f4a_7c15 >> 32) & mask
        while indexes[s] != i && indexes[s] >= 0 { s = (s &+ 1) & mask }
        return s
    }

    @inline(never)
    private func promotedCount(_ i: Int) -> UInt32 {
        let s = slot(i)
        // A marked cell is always in the table; 0xFFFF is its least possible count.
        return indexes[s] == i ? counts[s] : UInt32(Self.promotedMark)
    }

    @inline(never)
    private func promote(_ i: Int, to value: UInt32) {
        var s = slot(i)
        if indexes[s] != i {
            if (promoted &+ 1) &* 2 > mask &+ 1 {
                grow()
                s = slot(i)
            }
            indexes[s] = i
            promoted &+= 1
        }
        counts[s] = value
        narrow[i] = Self.promotedMark
    }

    /// Doubles the side table.
    private func grow() {
        let oldIndexes = indexes, oldCounts = counts, oldSize = mask &+ 1
        mask = 2 &* oldSize &- 1
        indexes = .allocate(capacity: mask + 1)
        indexes.initialize(repeating: -1, count: mask + 1)
        counts = .allocate(capacity: mask + 1)
        for s in 0..<oldSize where oldIndexes[s] >= 0 {
            let t = slot(oldIndexes[s])
            indexes[t] = oldIndexes[s]
            counts[t] = oldCounts[s]
        }
        oldIndexes.deallocate()
        oldCounts.deallocate()
    }
}
