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
    /// Each key's first request time in the window (`.max` for keys not requested in it).
    let first: [Int64]
    /// A cold cache's misses in each minute after T: one per key, in the minute of its first
    /// request.
    let coldMissesPerMinute: [Int]

    /// Gathers the window after `at` from `recorder`'s requests, in any order of reading.
    /// - Complexity: O(r + k log k) for r requests and the k keys of the window.
    init(at: Int64, windowSeconds: Int64, recorder: BacktestRecorder, tops: [Int]) {
        self.at = at
        let end = at + windowSeconds
        var counts = [Int32](repeating: 0, count: recorder.keys.count)
        var first = [Int64](repeating: .max, count: recorder.keys.count)
        var requests = 0
        recorder.forEachRequest { time, id in
            guard time > at && time <= end else { return }
            counts[id] += 1
            if time < first[id] { first[id] = time }
            requests += 1
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
        self.first = first
        var cold = [Int](repeating: 0, count: Self.minutes(windowSeconds))
        for id in present { cold[Self.minute(of: first[id], after: at)] += 1 }
        coldMissesPerMinute = cold

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

    /// Minutes in a window of `seconds`, the last one possibly partial: 600 → 10, 90 → 2.
    static func minutes(_ seconds: Int64) -> Int { Int((seconds + 59) / 60) }

    /// The minute after `at` that holds `time` in (at, at+window]: minute m is (at+60m, at+60m+60].
    static func minute(of time: Int64, after at: Int64) -> Int { Int((time - at - 1) / 60) }

    /// The row of the warm set `warmSet` (key numbers in rank order, at most N of them).
    func row(strategy: String, top: Int, warmSet: ArraySlice<Int>) -> BacktestRow {
        var hits = 0
        var warmKeysRequested = 0
        // A warm cache misses what a cold one does, but the keys it starts with: a key's only
        // miss is its first request (the caches keep every key), so misses are counted by the
        // minute of each key's first request, exactly as a request-by-request run in time order.
        var warmPerMinute = coldMissesPerMinute
        for id in warmSet where counts[id] > 0 {
            hits += Int(counts[id])
            warmKeysRequested += 1
            warmPerMinute[Self.minute(of: first[id], after: at)] -= 1
        }
        let share = { (n: Int) in requests > 0 ? Double(n) / Double(requests) : 0 }
        return BacktestRow(
            at: at, strategy: strategy, top: top, warmSetKeys: warmSet.count, requests: requests, hits: hits, hitShare: share(hits),
            warmMisses: distinct - warmKeysRequested, coldMisses: distinct, oracleHitShare: share(oracleHits[top] ?? 0),
            timeToFillSeconds: timeToFill(hits: hits), best: false, warmMissesPerMinute: warmPerMinute,
            coldMissesPerMinute: coldMissesPerMinute)
    }
}
