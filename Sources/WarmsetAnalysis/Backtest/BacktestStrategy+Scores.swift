import HeapModule
import WarmsetSketch

extension BacktestStrategy {
    /// Each key's score at deploy time `at` from the requests logged at or before it.
    /// - Complexity: O(r) for r requests recorded.
    func scores(at: Int64, windowSeconds: Int64, recorder: BacktestRecorder) -> [Double] {
        var scores = [Double](repeating: 0, count: recorder.keys.count)
        scores.withUnsafeMutableBufferPointer { scores in
            recorder.forEachRequest { time, id in
                let w = weight(ofRequestAt: time, deployAt: at, windowSeconds: windowSeconds)
                if w > 0 { scores[id] += w }
            }
        }
        return scores
    }

    /// The key numbers with a score above 0, best first (ties by key bytes, as analyze ranks),
    /// at most `limit` of them.
    ///
    /// The limit-th best score is found first with a heap of `limit` scores, so that only the
    /// keys scoring at least that much are sorted by the (slower) score-then-bytes order: on a
    /// log of a million keys and N = 20,000, a few tens of thousands instead of a million.
    /// - Complexity: O(k log N) for the k keys scored, plus O(m log m) for the m ≥ N kept.
    static func ranking(_ scores: [Double], keys: KeyInterner, limit: Int) -> [Int] {
        guard limit > 0 else { return [] }
        var best = Heap<Double>()
        for score in scores where score > 0 {
            if best.count < limit {
                best.insert(score)
            } else if let least = best.min, score > least {
                _ = best.replaceMin(with: score)
            }
        }
        // Every key scoring at least the limit-th best score (ties included) is kept.
        let threshold = best.count < limit ? Double.leastNonzeroMagnitude : (best.min ?? .leastNonzeroMagnitude)
        var kept: [Int] = []
        kept.reserveCapacity(best.count)
        for id in 0..<scores.count where scores[id] >= threshold { kept.append(id) }
        kept.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : keys.keyPrecedes($0, $1) }
        return Array(kept.prefix(limit))
    }
}
