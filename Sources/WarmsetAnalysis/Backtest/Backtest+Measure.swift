#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetSketch

/// The traffic after one deploy time T: each key's requests in (T, T+window] and when it was
/// first requested there, from which every figure of a row follows.
struct BacktestWindow {
    let at: Int64
    /// Counted requests in the window.
    let requests: Int
    /// Requests per key number in the window (0 for keys not requested in it).
    let counts: [Int32]
    /// The keys requested in the window.
    let distinct: Int
    /// The window's keys by first request time: the time, and the requests of the keys first
    /// requested up to it (what a cold cache holding them would hit over the whole window).
    let fill: [(time: Int64, covered: Int)]
    /// Requests of the window's own top N, for each N asked.
    let oracleHits: [Int: Int]

    /// Gathers the window after `at` from `recorder`'s requests, in any order of reading.
    /// - Complexity: O(r + k log k) for r requests and the k keys of the window.
    init(at: Int64, windowSeconds: Int64, recorder: BacktestRecorder, tops: [Int]) {
        self.at = at
        let end = at + windowSeconds
        var counts = [Int32](repeating: 0, count: recorder.keys.count)
        var first = [Int64](repeating: .max, count: recorder.keys.count)
        var requests = 0
        recorder.times.withUnsafeBufferPointer { times in
            recorder.ids.withUnsafeBufferPointer { ids in
                for i in 0..<times.count where times[i] > at && times[i] <= end {
                    let id = Int(ids[i])
                    counts[id] += 1
                    if times[i] < first[id] { first[id] = times[i] }
                    requests += 1
                }
            }
        }
        var present: [Int] = []
        for id in 0..<counts.count where counts[id] > 0 { present.append(id) }
        self.requests = requests
        self.counts = counts
        distinct = present.count

        let byFirst = present.sorted { first[$0] != first[$1] ? first[$0] < first[$1] : $0 < $1 }
        var fill: [(time: Int64, covered: Int)] = []
        var covered = 0
        for id in byFirst {
            covered += Int(counts[id])
            if let last = fill.last, last.time == first[id] {
                fill[fill.count - 1].covered = covered
            } else {
                fill.append((first[id], covered))
            }
        }
        self.fill = fill

        let keys = recorder.keys
        let byCount = present.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : keys.keyPrecedes($0, $1) }
        var oracle: [Int: Int] = [:]
        for n in tops { oracle[n] = byCount.prefix(n).reduce(0) { $0 + Int(counts[$1]) } }
        oracleHits = oracle
    }

    /// The seconds after T until a cold cache's keys cover `hits` requests of the window.
    /// - Complexity: O(log k).
    func timeToFill(hits: Int) -> Int64 {
        guard hits > 0 else { return 0 }
        var low = 0
        var high = fill.count - 1
        while low < high {
            let mid = (low + high) / 2
            if fill[mid].covered >= hits { high = mid } else { low = mid + 1 }
        }
        return fill.isEmpty ? 0 : fill[low].time - at
    }

    /// The row of the warm set `warmSet` (key numbers in rank order, at most N of them).
    func row(strategy: String, top: Int, warmSet: ArraySlice<Int>) -> BacktestRow {
        var hits = 0
        var warmKeysRequested = 0
        for id in warmSet where counts[id] > 0 {
            hits += Int(counts[id])
            warmKeysRequested += 1
        }
        let share = { (n: Int) in requests > 0 ? Double(n) / Double(requests) : 0 }
        return BacktestRow(
            at: at, strategy: strategy, top: top, warmSetKeys: warmSet.count, requests: requests, hits: hits, hitShare: share(hits),
            warmMisses: distinct - warmKeysRequested, coldMisses: distinct, oracleHitShare: share(oracleHits[top] ?? 0),
            timeToFillSeconds: timeToFill(hits: hits), best: false)
    }
}

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
