import Foundation
import Testing
import WarmsetAnalysis

/// `warmset backtest`: the library on hand-made logs against brute-force counts, and the
/// command's output and errors through the built binary.
@Suite("Backtest")
struct BacktestTests {
    static func configuration(_ inputs: [String], at: [Int64], window: Int64 = 600, tops: [Int], strategies: [BacktestStrategy]) -> BacktestConfiguration {
        var c = BacktestConfiguration()
        c.analysis.inputs = inputs
        c.at = at
        c.windowSeconds = window
        c.tops = tops
        c.strategies = strategies
        return c
    }

    @Test("a key hot only at 09:00 each day: season:1d finds it, frequency and recent:1h miss it")
    func seasonFindsTheMorningRush() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let result = try Backtest.run(Self.configuration(
            [path], at: [at], tops: [5], strategies: [.frequency(historySeconds: nil), .recent(halfLifeSeconds: 3600), .season(periodSeconds: 86_400)]))
        let rows = Dictionary(uniqueKeysWithValues: result.rows.map { ($0.strategy, $0) })
        let season = try #require(rows["season:1d"])
        let frequency = try #require(rows["frequency"])
        let recent = try #require(rows["recent:1h"])
        #expect(season.hitShare > 0.9, "\(season)")
        #expect(season.hitShare == season.oracleHitShare)
        #expect(frequency.hitShare < 0.1, "\(frequency)")
        #expect(recent.hitShare < 0.1, "\(recent)")
        #expect(season.best && !frequency.best && !recent.best)
        #expect(season.warmMisses < frequency.warmMisses)
    }

    /// Seeded traffic over three days in two files whose times overlap by a few seconds (the
    /// second file starts before the first ends), Zipf-like over 40 keys, with a daily burst.
    static func mixedTraffic(seed: UInt64) -> (first: [(time: Int64, path: String)], second: [(time: Int64, path: String)]) {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        var all: [(time: Int64, path: String)] = []
        var t = BacktestFixture.day0
        let end = BacktestFixture.day0 + 3 * BacktestFixture.day
        while t < end {
            t += Int64(next() % 120) + 1
            let rank = Int(next() % 40)
            let skewed = rank * rank / 40  // small ranks far more often
            all.append((t, "/k/\(skewed)"))
            let secondOfDay = (t - BacktestFixture.day0) % BacktestFixture.day
            if secondOfDay >= 9 * 3600 && secondOfDay < 9 * 3600 + 600 { all.append((t, "/burst/\(next() % 3)")) }
        }
        // Jitter: each request moves up to 3 s either way in its file, so neither file is sorted.
        let jittered = all.map { (time: $0.time + Int64(next() % 7) - 3, path: $0.path) }
        let cut = jittered.count / 2
        var second = Array(jittered[cut...])
        // The second file's first line is logged 2 s before the first file's last one.
        second[0].time = jittered[cut - 1].time - 2
        return (Array(jittered[..<cut]), second)
    }

    @Test("every figure of each (T, N, strategy) equals an independent brute-force count; the oracle is never below a strategy",
          arguments: [UInt64(7), 2026])
    func agreesWithBruteForce(seed: UInt64) throws {
        let (first, second) = Self.mixedTraffic(seed: seed)
        let a = try BacktestFixture.write(first, name: "a.log")
        let b = try BacktestFixture.write(second, name: "b.log")
        let requests = first + second
        #expect(first.map(\.time).max() ?? 0 > second.map(\.time).min() ?? 0, "the files overlap in time")
        #expect(zip(first, first.dropFirst()).contains { $0.time > $1.time }, "a file out of order")
        let times: [Int64] = [
            BacktestFixture.day0 + 2 * BacktestFixture.day + 9 * 3600,  // the burst's day 3
            (second.first?.time ?? 0) + 1,  // inside the overlap of the two files
            BacktestFixture.day0 + BacktestFixture.day + 17 * 3600 + 1234,
        ]
        let tops = [1, 3, 10]
        let strategies: [(BacktestStrategy, BacktestReference.Strategy)] = [
            (.frequency(historySeconds: nil), .frequency(history: nil)),
            (.frequency(historySeconds: 6 * 3600), .frequency(history: 6 * 3600)),
            (.recent(halfLifeSeconds: 3600), .recent(3600)),
            (.season(periodSeconds: 86_400), .season(86_400)),
        ]
        // The two frequency strategies share a name: run them apart.
        for (strategy, reference) in strategies {
            let result = try Backtest.run(Self.configuration([a, b], at: times, window: 900, tops: tops, strategies: [strategy]))
            #expect(result.rows.count == times.count * tops.count)
            for row in result.rows {
                let expected = BacktestReference(requests, at: row.at, window: 900, top: row.top, strategy: reference)
                let context = "seed \(seed) \(strategy) at \(row.at) top \(row.top)"
                #expect(abs(row.hitShare - expected.hitShare) < 1e-12, "\(context)")
                #expect(row.warmMisses == expected.warmMisses, "\(context)")
                #expect(row.coldMisses == expected.coldMisses, "\(context)")
                #expect(abs(row.oracleHitShare - expected.oracleHitShare) < 1e-12, "\(context)")
                #expect(row.timeToFillSeconds == expected.timeToFill, "\(context)")
                #expect(row.warmSetKeys == expected.warmSet.count, "\(context)")
                #expect(row.oracleHitShare >= row.hitShare, "\(context)")
            }
        }
    }

    @Test("boundaries: a request at T is before it, one at T+window in the window, one at T−P+window in season:P's window, one at T−P not")
    func boundaries() throws {
        let at = BacktestFixture.day0 + BacktestFixture.day + 9 * 3600
        let p = BacktestFixture.day
        let path = try BacktestFixture.write([
            (at - p, "/o"), (at - p + 600, "/w"), (at, "/a"), (at + 600, "/w"), (at + 601, "/x"),
        ])
        let result = try Backtest.run(Self.configuration(
            [path], at: [at], tops: [1], strategies: [.frequency(historySeconds: nil), .season(periodSeconds: p)]))
        let rows = Dictionary(uniqueKeysWithValues: result.rows.map { ($0.strategy, $0) })
        let season = try #require(rows["season:1d"])
        let frequency = try #require(rows["frequency"])
        // The window holds /w only; season chose /w (its one request in (T−P, T−P+600]); frequency
        // chose /a of three keys tied at 1 (the first by bytes).
        #expect(season == BacktestRow(
            at: at, strategy: "season:1d", top: 1, warmSetKeys: 1, requests: 1, hits: 1, hitShare: 1, warmMisses: 0, coldMisses: 1,
            oracleHitShare: 1, timeToFillSeconds: 600, best: true, warmMissesPerMinute: Array(repeating: 0, count: 10),
            coldMissesPerMinute: Array(repeating: 0, count: 9) + [1]))
        #expect(frequency == BacktestRow(
            at: at, strategy: "frequency", top: 1, warmSetKeys: 1, requests: 1, hits: 0, hitShare: 0, warmMisses: 1, coldMisses: 1,
            oracleHitShare: 1, timeToFillSeconds: 0, best: false, warmMissesPerMinute: Array(repeating: 0, count: 9) + [1],
            coldMissesPerMinute: Array(repeating: 0, count: 9) + [1]))
    }

    @Test("several deploy times give the mean and the worst; tsv and json carry the same rows")
    func aggregatesAndOutputs() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let result = try Backtest.run(Self.configuration(
            [path], at: [at, at - BacktestFixture.day], tops: [5, 10], strategies: [.frequency(historySeconds: nil), .season(periodSeconds: 86_400)]))
        #expect(result.aggregates.count == 4)
        for aggregate in result.aggregates {
            let rows = result.rows.filter { $0.strategy == aggregate.strategy && $0.top == aggregate.top }
            #expect(aggregate.worstHitShare == rows.map(\.hitShare).min())
            #expect(abs(aggregate.meanHitShare - rows.reduce(0) { $0 + $1.hitShare } / 2) < 1e-12)
            #expect(aggregate.worstWarmMisses == rows.map(\.warmMisses).max())
        }
        let tsv = result.rendered(.tsv).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(tsv.first.map { $0.map(String.init) } == ["at", "strategy", "top", "hit_share", "warm_misses", "cold_misses", "oracle_hit_share"])
        #expect(tsv.count == result.rows.count + 1)
        #expect(tsv[1].first == "2026-11-27T09:00:00Z")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.rendered(.json).utf8)) as? [String: Any])
        let rows = try #require(json["rows"] as? [[String: Any]])
        #expect(rows.count == result.rows.count)
        #expect(rows.first?["at"] as? String == "2026-11-27T09:00:00Z")
    }

    @Test("the command: tsv at the default --at (the last --window), analyze's keys (a rule), the table's best mark")
    func commandDefaultsAndRules() throws {
        let (requests, _) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let run = try TestSupport.run([
            "backtest", path, "--top", "3", "--strategy", "frequency,season:1d", "--output-format", "tsv",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(run.stdout)")
        // The newest request is the third day's last background one; T is ten minutes before it.
        let newest = requests.map(\.time).max() ?? 0
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(Backtest.iso8601(newest - 600) + "\t") }, "\(run.stdout)")
        // With the rule, only the morning keys count: no request in the evening window.
        let rushed = try TestSupport.run([
            "backtest", path, "--top", "3", "--output-format", "tsv", "--rule", "^/morning/(\\d+)$ => m:$1",
            "--at", Backtest.iso8601(BacktestFixture.day0 + 2 * BacktestFixture.day + 9 * 3600), "--strategy", "season:1d",
        ])
        #expect(rushed.status == 0, "\(rushed.stderr)")
        #expect(rushed.stdout.contains("\tseason:1d\t3\t0.600000\t2\t5\t0.600000"), "\(rushed.stdout)")
        let table = try TestSupport.run(["backtest", path, "--top", "5", "--at", "2026-11-27T09:00:00Z"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("season:1d *"), "\(table.stdout)")
    }

    @Test("no counted request after T is one clear sentence and exit 1")
    func noRequestsAfterT() throws {
        let base = BacktestFixture.day0 + 9 * 3600
        let path = try BacktestFixture.write([(base, "/a"), (base + 60, "/b"), (base + 3 * 3600, "/a")])
        let run = try TestSupport.run(["backtest", path, "--at", Backtest.iso8601(base + 3600), "--window", "10m"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("no counted request was logged in the --window 10m after --at 2026-11-25T10:00:00Z"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test("an --at outside the logs' time range is one clear sentence and exit 1")
    func atOutsideTheLogs() throws {
        let base = BacktestFixture.day0 + 9 * 3600
        let path = try BacktestFixture.write([(base, "/a"), (base + 60, "/b"), (base + 120, "/a")])
        for at in ["2026-11-24T09:00:00Z", "2026-12-01T00:00:00Z"] {
            let run = try TestSupport.run(["backtest", path, "--at", at])
            #expect(run.status == 1)
            #expect(run.stderr.contains("--at \(at) is outside the logs' time range (2026-11-25T09:00:00Z to 2026-11-25T09:02:00Z)"), "\(run.stderr)")
        }
    }

    @Test("a format without a time field is a usage error (64), before any line is read")
    func formatWithoutTime() throws {
        let run = try TestSupport.run(["backtest", "/nonexistent.log", "--format", "$remote_addr \"$request\" $status"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("no $time_local or $time_iso8601"), "\(run.stderr)")
        let season = try TestSupport.run(["backtest", "/nonexistent.log", "--strategy", "season:5m", "--window", "10m"])
        #expect(season.status == 64)
        #expect(season.stderr.contains("season:5m is shorter than --window 10m"), "\(season.stderr)")
    }
}
