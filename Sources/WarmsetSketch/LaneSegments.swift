/// The records of parallel parse lanes put back in input order.
///
/// Chunk `s` of an input goes to lane `s % lanes`, so each lane's records are a run of pieces,
/// one per chunk it read. A lane marks where each piece began (`order`: the chunk's place in
/// the whole input, increasing; `first`: the lane's record count then). Sorting the pieces of
/// every lane by `order` gives the records a single lane reading every chunk would have made, in
/// its order. Used to merge the exact counters' keys (`ExactCounter.merged`) and the backtest's
/// recorded requests.
public enum LaneSegments {
    /// Where one chunk's records begin in its lane.
    public typealias Mark = (order: Int, first: Int)

    /// Each lane's pieces, in input order: the lane and the range of its records.
    /// - Parameters:
    ///   - marks: per lane, its chunks' marks in the order it read them.
    ///   - ends: per lane, its record count at the end (where its last piece ends).
    /// - Complexity: O(m log m) for m marks.
    public static func inInputOrder(_ marks: [[Mark]], ends: [Int]) -> [(lane: Int, range: Range<Int>)] {
        precondition(marks.count == ends.count)
        var pieces: [(order: Int, lane: Int, range: Range<Int>)] = []
        for (lane, laneMarks) in marks.enumerated() {
            for (i, mark) in laneMarks.enumerated() {
                let end = i + 1 < laneMarks.count ? laneMarks[i + 1].first : ends[lane]
                if end > mark.first { pieces.append((mark.order, lane, mark.first..<end)) }
            }
        }
        pieces.sort { $0.order < $1.order }
        return pieces.map { ($0.lane, $0.range) }
    }
}
