#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeapModule
import WarmsetSketch

extension BacktestStrategy {
    /// What one request logged at `t` adds to its key's score at deploy time `at`: 0 when the
    /// strategy does not count it. The one definition of each strategy, used by the exact
    /// scores below and by sketch mode's counters.
    /// - `frequency`: 1 for `t ≤ at` (and `t > at − history` with a history).
    /// - `recent:H`: 2^((t − at)/H) for `t ≤ at`: the weights of analyze's forward decay, taken
    ///   relative to T instead of a landmark (T is known here, and the exponent stays ≤ 0).
    /// - `season:P`: 1/k when `t` is in period k's window (at − kP, at − kP + window], k ≥ 1.
    /// - Complexity: O(1).
    @inline(__always)
    public func weight(ofRequestAt t: Int64, deployAt at: Int64, windowSeconds: Int64) -> Double {
        guard t <= at else { return 0 }
        switch self {
        case .frequency(let history):
            if let history, t <= at - history { return 0 }
            return 1
        case .recent(let halfLife):
            return exp2(Double(t - at) / Double(halfLife))
        case .season(let period):
            // A request d seconds before T is in period k's window when kP > d and kP ≤ d + window:
            // k = d/P + 1, at most one k as window ≤ P.
            let d = at - t
            let k = d / period + 1
            return k * period <= d + windowSeconds ? 1 / Double(k) : 0
        }
    }

    /// Each key's score at deploy time `at` from the requests logged at or before it.
    /// - Complexity: O(r) for r requests recorded.
    func scores(at: Int64, windowSeconds: Int64, recorder: BacktestRecorder) -> [Double] {
        var scores = [Double](repeating: 0, count: recorder.keys.count)
        recorder.times.withUnsafeBufferPointer { times in
            recorder.ids.withUnsafeBufferPointer { ids in
                for i in 0..<times.count {
                    let w = weight(ofRequestAt: times[i], deployAt: at, windowSeconds: windowSeconds)
                    if w > 0 { scores[Int(ids[i])] += w }
                }
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
