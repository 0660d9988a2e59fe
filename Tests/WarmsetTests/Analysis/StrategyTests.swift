import Foundation
import Testing
import WarmsetAnalysis

/// `analyze --strategy`: the backtest's strategies used to choose the warm set, checked against
/// the backtest's brute-force reference and the backtest itself on its own fixtures.
@Suite("Analyze strategy")
struct StrategyTests {
    /// analyze's exact configuration for `inputs` with `strategy` at `at`.
    static func configuration(_ inputs: [String], strategy: BacktestStrategy, at: Int64, window: Int64 = 600, top: Int) -> AnalysisConfiguration {
        var c = AnalysisConfiguration()
        c.inputs = inputs
        c.exact = true
        c.top = top
        c.strategy = DeployStrategy(strategy, at: at, windowSeconds: window)
        return c
    }

    @Test("each strategy ranks as a brute-force count does, and its top N is the warm set the backtest measures at T",
          arguments: [UInt64(7), 2026])
    func agreesWithBruteForceAndBacktest(seed: UInt64) throws {
        // The backtest's seeded traffic: two files, out of order by a few seconds, and a daily burst.
        let files = BacktestTests.mixedTraffic(seed: seed)
        let logs = try [files.first, files.second].enumerated().map { try BacktestFixture.write($1, name: "\($0).log") }
        let requests = files.first + files.second
        // The burst's third day, inside the files' overlap, an afternoon.
        let times = [2 * BacktestFixture.day + 9 * 3600, (files.second.first?.time ?? 0) + 1 - BacktestFixture.day0, BacktestFixture.day + 17 * 3600 + 1234]
            .map { BacktestFixture.day0 + $0 }
        let strategies: [(BacktestStrategy, BacktestReference.Strategy)] = [
            (.frequency(historySeconds: nil), .frequency(history: nil)),
            (.frequency(historySeconds: 6 * 3600), .frequency(history: 6 * 3600)),
            (.recent(halfLifeSeconds: 3600), .recent(3600)),
            (.season(periodSeconds: 86_400), .season(86_400)),
        ]
        let top = 10
        for at in times {
            for (strategy, reference) in strategies {
                let context = "seed \(seed) \(strategy) at \(Backtest.iso8601(at))"
                let result = try Analyzer.analyze(Self.configuration(logs, strategy: strategy, at: at, window: 900, top: top))
                let expected = BacktestReference(requests, at: at, window: 900, top: top, strategy: reference)
                #expect(expected.warmSet.count >= top / 2, "\(context): the reference chose only \(expected.warmSet.count) keys")
                #expect(result.ranked.map(\.key) == expected.warmSet, "\(context)")
                // The backtest's hit share for the same T is that of analyze's warm set.
                var backtest = BacktestConfiguration()
                backtest.analysis.inputs = logs
                backtest.at = [at]
                backtest.windowSeconds = 900
                backtest.tops = [top]
                backtest.strategies = [strategy]
                let row = try #require(try Backtest.run(backtest).rows.first)
                let warm = Set(result.ranked.map(\.key))
                let after = requests.filter { $0.time > at && $0.time <= at + 900 }
                let hitShare = Double(after.filter { warm.contains($0.path) }.count) / Double(after.count)
                #expect(abs(row.hitShare - hitShare) < 1e-12, "\(context)")
                #expect(row.warmSetKeys == result.ranked.count, "\(context)")
            }
        }
    }

    @Test("the 09:00 keys: season:1d at the third day's 09:00 ranks them first, frequency at the same T does not")
    func seasonFindsTheMorningKeys() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let morning = (0..<5).map { "/morning/\($0)" }
        let season = try TestSupport.run(["analyze", path, "--exact", "--top", "5", "--strategy", "season:1d", "--at", Backtest.iso8601(at), "-q"])
        #expect(season.status == 0, "\(season.stderr)")
        #expect(season.stdout.split(separator: "\n").map(String.init) == morning, "\(season.stdout)")
        let frequency = try TestSupport.run(["analyze", path, "--exact", "--top", "5", "--strategy", "frequency", "--at", Backtest.iso8601(at), "-q"])
        #expect(frequency.status == 0, "\(frequency.stderr)")
        let chosen = frequency.stdout.split(separator: "\n").map(String.init)
        #expect(chosen.count == 5 && Set(chosen).isDisjoint(with: morning), "\(frequency.stdout)")
    }

    @Test("requests logged after --at are not counted, and the summary says how many")
    func requestsAfterTheDeployTime() throws {
        let at = BacktestFixture.day0 + 9 * 3600
        let path = try BacktestFixture.write([
            (at - 60, "/a"), (at, "/b"), (at + 1, "/late"), (at + 2, "/late"), (at + 3, "/late"), (at - 30, "/a"),
        ])
        let run = try TestSupport.run(["analyze", path, "--exact", "--output-format", "tsv", "--at", Backtest.iso8601(at)])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) } == ["/a", "/b"], "\(run.stdout)")
        #expect(run.stderr.contains("3 requests were logged after --at 2026-11-25T09:00:00Z and were not counted"), "\(run.stderr)")
        #expect(run.stderr.contains("ranked by --strategy frequency at 2026-11-25T09:00:00Z"), "\(run.stderr)")
    }

    @Test("the report's timeline holds the counted requests only: none logged after --at, none outside season's windows")
    func timelineCountsWhatIsCounted() throws {
        let at = BacktestFixture.day0 + BacktestFixture.day + 9 * 3600
        let requests: [(time: Int64, path: String)] = [
            (at - 60, "/a"), (at - 30, "/a"), (at, "/b"),  // before T: counted by frequency
            (at + 1, "/late"), (at + 90, "/late"), (at + 7200, "/late"),  // after T: never counted
            (at - BacktestFixture.day + 120, "/season"),  // in season:1d's window a day before T
            (at - 5 * 3600, "/noon"),  // before T, outside every season window
        ]
        let path = try BacktestFixture.write(requests)
        for (strategy, counted) in [(BacktestStrategy.frequency(historySeconds: nil), 5), (.season(periodSeconds: 86_400), 1)] {
            var c = Self.configuration([path], strategy: strategy, at: at, top: 10)
            c.report = try TestSupport.temporaryDirectory().appendingPathComponent("report.html").path
            let result = try Analyzer.run(c)
            let timeline = try #require(result.timeline, "\(strategy)")
            #expect(timeline.buckets.values.reduce(0, +) == counted, "\(strategy): \(timeline.buckets)")
            #expect(timeline.buckets.keys.allSatisfy { $0 <= at }, "no bar after T: \(timeline.buckets)")
        }
    }

    @Test("recent:H on requests over 1,074 half-lives before --at: they weigh 0, and the note says why and what to do")
    func recentOnVeryOldRequests() throws {
        let at = BacktestFixture.day0 + 3 * BacktestFixture.day
        let path = try BacktestFixture.write([(BacktestFixture.day0, "/old"), (BacktestFixture.day0 + 60, "/old"), (at - 30, "/new")])
        let run = try TestSupport.run(["analyze", path, "--exact", "--output-format", "tsv", "--strategy", "recent:1m", "--at", Backtest.iso8601(at)])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) } == ["/new"], "\(run.stdout)")
        #expect(run.stderr.contains("2 requests logged before --at weigh 0 under recent:1m and were not counted (logged over 1,074 half-lives before it"), "\(run.stderr)")
    }

    @Test("without the new options, and with --strategy frequency alone, the output is byte for byte today's")
    func defaultOutputUnchanged() throws {
        let (requests, _) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        for mode in [["--exact"], []] {
            let plain = try TestSupport.run(["analyze", path, "--top", "30", "--output-format", "tsv", "-q"] + mode)
            let frequency = try TestSupport.run(["analyze", path, "--top", "30", "--output-format", "tsv", "-q", "--strategy", "frequency"] + mode)
            #expect(plain.status == 0 && frequency.status == 0, "\(plain.stderr)\(frequency.stderr)")
            #expect(!plain.stdout.isEmpty)
            #expect(plain.stdout == frequency.stdout, "\(mode)")
        }
        // --at after every request counts them all: the same keys in the same order.
        let keys = try TestSupport.run(["analyze", path, "--exact", "--top", "30", "-q"])
        let atEnd = try TestSupport.run(["analyze", path, "--exact", "--top", "30", "-q", "--at", "2026-12-01T00:00:00Z"])
        #expect(keys.status == 0 && atEnd.status == 0, "\(atEnd.stderr)")
        #expect(keys.stdout == atEnd.stdout)
    }

    @Test("--strategy recent:H with --weight bytes ranks by the product of the weights")
    func productWithWeight() throws {
        let at = BacktestFixture.day0 + 9 * 3600
        // /big: one request of 100 bytes at T−1h, weighs 50; /small: one of 100 bytes at T, weighs 100.
        // By bytes alone they tie; by recent:1h /small is first; with 3 requests at T−1h /big
        // weighs 150 and ranks first.
        let path = try BacktestFixture.write([(at - 3600, "/big"), (at - 3600, "/big"), (at - 3600, "/big"), (at, "/small")])
        let run = try TestSupport.run([
            "analyze", path, "--exact", "--output-format", "tsv", "--weight", "bytes", "--strategy", "recent:1h", "--at", Backtest.iso8601(at), "-q",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0.first ?? "" } == ["/big", "/small"], "\(run.stdout)")
        #expect(rows.first?.dropFirst().first == "150", "\(run.stdout)")
        #expect(rows.last?.dropFirst().first == "100", "\(run.stdout)")
    }

    @Test("bad --strategy, --at and combinations are usage errors (64) with one sentence", arguments: [
        (["--strategy", "popular"], "--strategy 'popular': use frequency, recent:HALF-LIFE"),
        (["--strategy", "recent:soon"], "--strategy 'recent:soon': use frequency"),
        (["--at", "yesterday"], "--at 'yesterday': use ISO 8601"),
        (["--strategy", "recent:1h", "--window", "10m"], "--window 10m is the window of --strategy season:PERIOD; recent:1h has none"),
        (["--window", "10m"], "--window 10m is the window of --strategy season:PERIOD; frequency has none"),
        (["--strategy", "season:1d", "--history", "24h"], "--history 24h limits --strategy frequency; season:1d does not take it"),
        (["--strategy", "season:5m", "--window", "10m"], "season:5m is shorter than --window 10m"),
        (["--strategy", "recent:1h", "--half-life", "1h"], "--half-life 1h and --strategy both weigh requests by their time; give one"),
        (["--strategy", "recent:1h", "--save-sketch", "/tmp/never.sketch"], "--save-sketch cannot record --strategy/--at/--history"),
        (["--at", "2026-11-27T09:00:00Z", "--format", "$remote_addr \"$request\" $status"], "the format has no $time_local or $time_iso8601"),
    ])
    func usageErrors(arguments: [String], sentence: String) throws {
        let run = try TestSupport.run(["analyze", "/nonexistent.log"] + arguments)
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.contains(sentence), "\(arguments): \(run.stderr)")
    }

    @Test("a sketch file keeps no log times: --strategy with a sketch input is one sentence and exit 1")
    func sketchInputsRefused() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let sketch = try TestSupport.temporaryDirectory().appendingPathComponent("day.sketch").path
        let save = try TestSupport.run(["analyze", path, "--save-sketch", sketch, "-q"])
        #expect(save.status == 0, "\(save.stderr)")
        let run = try TestSupport.run(["analyze", sketch, "--strategy", "season:1d", "--at", Backtest.iso8601(at), "-q"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("is a sketch file, which keeps no log times, so --strategy season:1d cannot place its requests"), "\(run.stderr)")
    }
}
