import Testing
import WarmsetSystem

/// `Parallel` runs every piece once, returns only when all are done (their writes visible),
/// and splits a range into consecutive pieces that cover it exactly.
@Suite("System: pieces of one step run at once")
struct ParallelTests {
    @Test(arguments: [0, 1, 2, 3, 8])
    func everyPieceRunsOnceBeforeTheCallReturns(count: Int) {
        // Each piece writes only its own element: what `Parallel` asks of its callers.
        var runs = [Int](repeating: 0, count: count)
        var written = [Int](repeating: -1, count: count)
        runs.withUnsafeMutableBufferPointer { runs in
            written.withUnsafeMutableBufferPointer { written in
                Parallel.forEach(count) { i in
                    runs[i] += 1
                    written[i] = i * i
                }
            }
        }
        #expect(runs == [Int](repeating: 1, count: count))
        #expect(written == (0..<count).map { $0 * $0 })
    }

    @Test func bothRunsEachClosureOnce() {
        var first = 0, second = 0
        withUnsafeMutablePointer(to: &first) { a in
            withUnsafeMutablePointer(to: &second) { b in
                Parallel.both({ a.pointee += 1 }, { b.pointee += 2 })
            }
        }
        #expect(first == 1 && second == 2)
    }

    @Test(arguments: [(0, 2), (1, 2), (7, 2), (10, 3), (10_001, 2), (5, 8)])
    func piecesCoverTheRangeInOrder(count: Int, parts: Int) {
        let pieces = (0..<parts).map { Parallel.piece($0, of: parts, count: count) }
        #expect(pieces.first?.lowerBound == 0)
        #expect(pieces.last?.upperBound == count)
        for i in 1..<parts { #expect(pieces[i].lowerBound == pieces[i - 1].upperBound) }
        let sizes = pieces.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
    }
}
