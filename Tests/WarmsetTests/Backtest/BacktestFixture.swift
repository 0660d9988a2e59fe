import Foundation

/// Hand-made logs for the backtest tests: combined-format lines at chosen times, and an
/// independent, obviously-correct count of every figure (`BacktestReference`).
enum BacktestFixture {
    /// 2026-11-25T00:00:00Z, the first day of every fixture.
    static let day0: Int64 = 1_795_564_800
    static let day: Int64 = 86_400

    /// One combined-format line for `GET path` at `time` (epoch seconds, UTC).
    static func line(_ time: Int64, _ path: String, status: Int = 200) -> String {
        "10.0.0.1 - - [\(timeLocal(time))] \"GET \(path) HTTP/1.1\" \(status) 100 \"-\" \"test\""
    }

    /// nginx's `$time_local` of `time` in UTC: `25/Nov/2026:09:00:00 +0000`.
    static func timeLocal(_ time: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss '+0000'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
    }

    /// Writes `requests` (time, path) in the order given as a log file in a fresh directory.
    static func write(_ requests: [(time: Int64, path: String)], name: String = "access.log") throws -> String {
        try TestSupport.generatedFile(name, lines: requests.count) { line(requests[$0].time, requests[$0].path) }.path
    }

    /// Three days: 20 background keys requested every 15 minutes all day (each at its own
    /// offset), and 5 "morning" keys requested 30 times in the ten minutes after 09:00 each day
    /// and never otherwise. T is the third day's 09:00.
    static func morningRush() -> (requests: [(time: Int64, path: String)], at: Int64) {
        var requests: [(time: Int64, path: String)] = []
        for d in 0..<3 {
            let start = day0 + Int64(d) * day
            for slot in 0..<96 {
                for i in 0..<20 {
                    requests.append((start + Int64(slot) * 900 + Int64(i * 37 % 900), "/bg/\(i)"))
                }
            }
            for k in 0..<5 {
                for j in 0..<30 {
                    requests.append((start + 9 * 3600 + 1 + Int64(j) * 20, "/morning/\(k)"))
                }
            }
        }
        requests.sort { $0.time < $1.time }
        return (requests, day0 + 2 * day + 9 * 3600)
    }
}

/// Every figure of one (T, N, strategy), counted by brute force from the requests as written:
/// the warm set by sorting scores, the misses by running a cache request by request in time
/// order, time to fill by growing a cold cache request by request.
struct BacktestReference {
    var hitShare: Double
    var warmMisses: Int
    var coldMisses: Int
    var oracleHitShare: Double
    var timeToFill: Int64
    var warmSet: [String]
    /// The misses of each cache in each minute after T, minute m being (T+60m, T+60m+60].
    var warmMissesPerMinute: [Int]
    var coldMissesPerMinute: [Int]

    enum Strategy {
        case frequency(history: Int64?)
        case recent(Int64)
        case season(Int64)
    }

    /// `requests` in reading order (the order the files are read).
    init(_ requests: [(time: Int64, path: String)], at: Int64, window: Int64, top: Int, strategy: Strategy) {
        var score: [String: Double] = [:]
        let oldest = requests.map(\.time).min() ?? at
        for r in requests where r.time <= at {
            switch strategy {
            case .frequency(let history):
                if history.map({ r.time > at - $0 }) ?? true { score[r.path, default: 0] += 1 }
            case .recent(let h):
                score[r.path, default: 0] += exp2(Double(r.time - at) / Double(h))
            case .season(let p):
                for k in 1...max(1, (at - oldest) / p + 1) where r.time > at - k * p && r.time <= at - k * p + window {
                    score[r.path, default: 0] += 1 / Double(k)
                }
            }
        }
        let ranked = score.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        warmSet = ranked.prefix(top).map(\.key)

        let after = requests.filter { $0.time > at && $0.time <= at + window }
        let inTimeOrder = after.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        let warm = Set(warmSet)
        hitShare = Double(after.filter { warm.contains($0.path) }.count) / Double(after.count)

        var warmCache = warm
        var coldCache = Set<String>()
        var warmMisses = 0
        var coldMisses = 0
        var warmPerMinute = [Int](repeating: 0, count: Int((window + 59) / 60))
        var coldPerMinute = warmPerMinute
        for r in inTimeOrder {
            let minute = Int((r.time - at - 1) / 60)
            if !warmCache.contains(r.path) { warmMisses += 1; warmPerMinute[minute] += 1; warmCache.insert(r.path) }
            if !coldCache.contains(r.path) { coldMisses += 1; coldPerMinute[minute] += 1; coldCache.insert(r.path) }
        }
        self.warmMisses = warmMisses
        self.coldMisses = coldMisses
        warmMissesPerMinute = warmPerMinute
        coldMissesPerMinute = coldPerMinute

        var perKey: [String: Int] = [:]
        for r in after { perKey[r.path, default: 0] += 1 }
        let oracle = perKey.sorted { $0.value != $1.value ? $0.value > $1.value : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        oracleHitShare = Double(oracle.prefix(top).reduce(0) { $0 + $1.value }) / Double(after.count)

        let hits = after.filter { warm.contains($0.path) }.count
        var fill: Int64 = 0
        if hits > 0 {
            var seen = Set<String>()
            for r in inTimeOrder {
                seen.insert(r.path)
                if after.filter({ seen.contains($0.path) }).count >= hits {
                    fill = r.time - at
                    break
                }
            }
        }
        timeToFill = fill
    }
}
