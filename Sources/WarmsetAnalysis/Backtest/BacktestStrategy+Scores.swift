#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetSketch

extension BacktestStrategy {
    /// Each key's score at deploy time `at` from the requests logged at or before it.
    /// - Complexity: O(r) for r requests recorded.
    func scores(at: Int64, windowSeconds: Int64, recorder: BacktestRecorder) -> [Double] {
        var scores = [Double](repeating: 0, count: recorder.keys.count)
        recorder.times.withUnsafeBufferPointer { times in
            recorder.ids.withUnsafeBufferPointer { ids in
                switch self {
                case .frequency(let history):
                    let from = history.map { at - $0 } ?? .min
                    for i in 0..<times.count where times[i] <= at && times[i] > from { scores[Int(ids[i])] += 1 }
                case .recent(let halfLife):
                    // The weights of analyze's forward decay (ForwardDecay), taken relative to T
                    // instead of a landmark: T is known here, and the exponent stays ≤ 0.
                    let h = Double(halfLife)
                    for i in 0..<times.count where times[i] <= at { scores[Int(ids[i])] += exp2(Double(times[i] - at) / h) }
                case .season(let period):
                    // A request d seconds before T is in period k's window (T−kP, T−kP+window]
                    // when kP > d and kP ≤ d + window: k = d/P + 1, at most one k as window ≤ P.
                    for i in 0..<times.count where times[i] <= at {
                        let d = at - times[i]
                        let k = d / period + 1
                        if k * period <= d + windowSeconds { scores[Int(ids[i])] += 1 / Double(k) }
                    }
                }
            }
        }
        return scores
    }

    /// The key numbers with a score above 0, best first (ties by key bytes, as analyze ranks),
    /// at most `limit` of them.
    /// - Complexity: O(k log k) for the k keys scored.
    static func ranking(_ scores: [Double], keys: KeyInterner, limit: Int) -> [Int] {
        var scored: [Int] = []
        for id in 0..<scores.count where scores[id] > 0 { scored.append(id) }
        scored.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : keys.keyPrecedes($0, $1) }
        return Array(scored.prefix(limit))
    }
}
