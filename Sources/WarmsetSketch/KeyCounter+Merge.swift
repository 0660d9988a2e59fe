import WarmsetSystem
/// Merging the counters of parallel parse workers into one.
extension ExactCounter {
    /// Keys counted so far: the entry index the next new key gets (keys are never removed).
    public var keyCount: Int { table.count }

    /// One worker's counter with the chunks it counted: for each chunk, its place in the
    /// input (`order`, increasing) and the counter's `keyCount` when the chunk began.
    public typealias WorkerShare = (counter: ExactCounter, marks: [(order: Int, firstKey: Int)])

    /// The counter a single worker would have made counting every chunk in order.
    ///
    /// Keys are inserted in the order of their first appearance in the input (by chunk
    /// order, then by order within the chunk), so each key keeps the path of its first
    /// request, as when counting on one thread. Only unweighted counters that admit every
    /// key are merged this way.
    /// - Complexity: O(m log m + k + total key bytes) for k keys in m chunk marks.
    public static func merged(_ shares: [WorkerShare], seed: UInt64) -> ExactCounter {
        let result = ExactCounter(seed: seed)
        for share in shares {
            precondition(!share.counter.weighted && share.counter.tracksEveryKey)
            result.total &+= share.counter.total
            result.weightTotal += share.counter.weightTotal
        }
        let pieces = LaneSegments.inInputOrder(
            shares.map { $0.marks.map { (order: $0.order, first: $0.firstKey) } }, ends: shares.map(\.counter.table.count))
        for piece in pieces {
            let table = shares[piece.lane].counter.table
            for e in piece.range {
                let entry = table.entry(e)
                let key = table.key(of: entry)
                let index = result.table.find(entry.hash, key: key) ?? result.table.insert(entry.hash, key: key, path: table.path(of: entry))
                result.table.record(index, count: entry.count, bytes: entry.bytesSum, weight: entry.weight)
            }
        }
        return result
    }
}

extension SketchCounter {
    /// Adds another counter's counts (a parallel worker's), without a snapshot's copy of
    /// the cells: the sketches are summed and the candidate sets united and re-ranked, as
    /// `merge(_:name:)` does.
    /// - Precondition: `other` was made with the same parameters, update rule and capacity.
    /// - Complexity: O(d·w + c log c).
    public func absorb(_ other: SketchCounter) {
        absorb(other, selfMiss: core.missBound(), otherMiss: other.core.missBound())
    }

    /// `absorb(_:)` with both miss bounds known (`missBound()` of each counter before the merge).
    /// The sketch is summed while the table is searched for the other's candidates: the two touch
    /// different memory (`CandidateSet.absorb`).
    func absorb(_ other: SketchCounter, selfMiss: Double, otherMiss: Double) {
        precondition(other.sketch.parameters == sketch.parameters && other.sketch.conservative == sketch.conservative)
        let mine = core, theirs = other.core
        mine.requests &+= theirs.requests
        mine.absorb(theirs, summing: { mine.sketch.add(contentsOf: theirs.sketch) }, selfMiss: selfMiss, otherMiss: otherMiss)
    }

    /// The lanes' counters summed into the first, one by one in lane order. The miss bound of
    /// each (a query of every candidate, in a sketch larger than the cache) is taken on as
    /// many threads as there are lanes, each reading its own counter.
    static func merged(_ lanes: [SketchCounter]) -> SketchCounter {
        var misses = [Double](repeating: 0, count: lanes.count)
        misses.withUnsafeMutableBufferPointer { misses in
            Parallel.forEach(lanes.count) { misses[$0] = lanes[$0].core.missBound() }
        }
        for i in lanes.indices.dropFirst() {
            // After the first merge the first lane's bound is the one its cut back kept: O(1).
            lanes[0].absorb(lanes[i], selfMiss: i == 1 ? misses[0] : lanes[0].core.missBound(), otherMiss: misses[i])
        }
        return lanes[0]
    }

    /// An empty counter with the same settings, for another worker.
    public func emptyCopy() -> SketchCounter {
        SketchCounter(parameters: sketch.parameters, top: 1, candidates: capacity, conservative: sketch.conservative)
    }
}
