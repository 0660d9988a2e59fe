import Foundation
import Testing
import WarmsetAnalysis

/// Backtest's sketch mode (`--sketch-memory`): the history in bounded memory, each window exact.
@Suite("Backtest sketch mode")
struct BacktestSketchTests {
    static let strategies: [BacktestStrategy] = [
        .frequency(historySeconds: nil), .frequency(historySeconds: 6 * 3600), .recent(halfLifeSeconds: 3600), .season(periodSeconds: 86_400),
    ]

    /// The seeded two-file traffic of the exact tests, and three deploy times in it.
    static func traffic(seed: UInt64) throws -> (paths: [String], times: [Int64]) {
        let (first, second) = BacktestTests.mixedTraffic(seed: seed)
        let a = try BacktestFixture.write(first, name: "a.log")
        let b = try BacktestFixture.write(second, name: "b.log")
        let times: [Int64] = [
            BacktestFixture.day0 + 2 * BacktestFixture.day + 9 * 3600,
            (second.first?.time ?? 0) + 1,
            BacktestFixture.day0 + BacktestFixture.day + 17 * 3600 + 1234,
        ]
        return ([a, b], times)
    }

    @Test("with room for every key, sketch mode gives the exact mode's rows, figure for figure", arguments: [UInt64(7), 2026])
    func roomyEqualsExact(seed: UInt64) throws {
        let (paths, times) = try Self.traffic(seed: seed)
        // One strategy a run: the two frequency strategies share a name.
        for strategy in Self.strategies {
            var c = BacktestTests.configuration(paths, at: times, window: 900, tops: [1, 3, 10], strategies: [strategy])
            let exact = try Backtest.run(c)
            c.sketchMemoryBytes = 1 << 20
            let sketch = try Backtest.run(c)
            #expect(sketch.rows == exact.rows, "seed \(seed) \(strategy)")
            #expect(sketch.aggregates == exact.aggregates, "seed \(seed) \(strategy)")
            #expect(exact.counting == .exact && exact.sketchBounds.isEmpty)
            guard case .sketch(let bytes) = sketch.counting else {
                Issue.record("sketch mode reported \(sketch.counting)")
                continue
            }
            #expect(bytes > 0)
            #expect(sketch.sketchBounds.count == times.count, "one bound per deploy time and strategy")
            #expect(sketch.requestsTimed == exact.requestsTimed && sketch.oldest == exact.oldest && sketch.newest == exact.newest)
        }
    }

    @Test("a sketch far too small: the window's figures stay exact, the choice may not, and the bound says by how much")
    func tinySketchKeepsTheWindowExact() throws {
        let (paths, times) = try Self.traffic(seed: 7)
        var c = BacktestTests.configuration(paths, at: times, window: 900, tops: [3, 10], strategies: [.frequency(historySeconds: nil), .recent(halfLifeSeconds: 3600)])
        let exact = try Backtest.run(c)
        c.sketchMemoryBytes = 2048  // 1 KiB a counter: 32 columns of 8 bytes in 4 rows, for 43 keys
        let sketch = try Backtest.run(c)
        #expect(sketch.rows.count == exact.rows.count)
        for (s, e) in zip(sketch.rows, exact.rows) {
            #expect(s.at == e.at && s.strategy == e.strategy && s.top == e.top)
            #expect(s.requests == e.requests && s.coldMisses == e.coldMisses && s.oracleHitShare == e.oracleHitShare)
            #expect(s.hitShare <= s.oracleHitShare)
            #expect(s.warmMisses >= s.coldMisses - s.top)
        }
        for bound in sketch.sketchBounds {
            // ε·N with ε = e/width: the bound is the sketch's, over the strategy's total score.
            #expect(bound.epsilon == 2.718281828459045 / 32, "\(bound)")
            #expect(abs(bound.errorBound - bound.epsilon * bound.scoreTotal) < 1e-9 * max(1, bound.scoreTotal), "\(bound)")
            #expect(bound.scoreTotal > 0)
        }
        let frequencyTotals = sketch.sketchBounds.filter { $0.strategy == "frequency" }.map(\.scoreTotal)
        #expect(frequencyTotals.count == times.count)
        // frequency's total at T is the number of counted requests at or before T.
        let (first, second) = BacktestTests.mixedTraffic(seed: 7)
        for (bound, at) in zip(sketch.sketchBounds.filter { $0.strategy == "frequency" }, times) {
            #expect(bound.scoreTotal == Double((first + second).filter { $0.time <= at }.count), "\(bound)")
        }
    }

    @Test("memory does not grow with the history: three days hold what the last fifteen hours hold")
    func memoryIsBounded() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let lastDay = requests.filter { $0.time > at - 3600 }
        #expect(lastDay.count < requests.count / 3)
        var sizes: [Int] = []
        for log in [requests, lastDay] {
            let path = try BacktestFixture.write(log)
            var c = BacktestTests.configuration([path], at: [at], tops: [5], strategies: [.frequency(historySeconds: nil), .season(periodSeconds: 86_400)])
            c.sketchMemoryBytes = 64 << 10
            let result = try Backtest.run(c)
            guard case .sketch(let bytes) = result.counting else {
                Issue.record("not sketch mode: \(result.counting)")
                return
            }
            sizes.append(bytes)
        }
        // The sketches are the same size; only the candidates' key bytes differ (which keys
        // made it in), so the two differ by far less than one percent for 3× the requests.
        #expect(abs(sizes[0] - sizes[1]) * 100 < sizes[1], "\(sizes)")
    }

    @Test("the command: --sketch-memory needs --at, not with --exact; json and the table carry the bounds")
    func command() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let noAt = try TestSupport.run(["backtest", path, "--sketch-memory", "1MiB"])
        #expect(noAt.status == 64)
        #expect(noAt.stderr.contains("--sketch-memory counts the history before each deploy time while the logs are read, so it needs the deploy times up front; give --at"), "\(noAt.stderr)")
        let both = try TestSupport.run(["backtest", path, "--sketch-memory", "1MiB", "--exact", "--at", Backtest.iso8601(at)])
        #expect(both.status == 64)
        #expect(both.stderr.contains("give either --exact or --sketch-memory, not both"), "\(both.stderr)")
        let bad = try TestSupport.run(["backtest", path, "--sketch-memory", "lots", "--at", Backtest.iso8601(at)])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--sketch-memory 'lots': use a size between 1KiB and 16GiB"), "\(bad.stderr)")

        let json = try TestSupport.run([
            "backtest", path, "--sketch-memory", "1MiB", "--at", Backtest.iso8601(at), "--top", "5", "--output-format", "json",
        ])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["counting"] as? String == "sketch")
        let sketch = try #require(object["sketch"] as? [String: Any])
        let bounds = try #require(sketch["bounds"] as? [[String: Any]])
        #expect(bounds.map { $0["strategy"] as? String } == ["frequency", "recent:1h", "season:1d"])
        #expect(bounds.allSatisfy { ($0["error_bound"] as? Double ?? -1) > 0 })
        let exactJSON = try TestSupport.run(["backtest", path, "--at", Backtest.iso8601(at), "--top", "5", "--output-format", "json"])
        let exactObject = try #require(try JSONSerialization.jsonObject(with: Data(exactJSON.stdout.utf8)) as? [String: Any])
        #expect(exactObject["sketch"] == nil)
        // The rows agree: 1 MiB holds these 25 keys without a collision that changes a choice.
        #expect((object["rows"] as? [[String: Any]])?.map { $0["hit_share"] as? Double } == (exactObject["rows"] as? [[String: Any]])?.map { $0["hit_share"] as? Double })

        let table = try TestSupport.run(["backtest", path, "--sketch-memory", "1MiB", "--at", Backtest.iso8601(at), "--top", "5"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("The history was counted in sketches"), "\(table.stdout)")
        #expect(table.stdout.contains("score bound (ε·N)"), "\(table.stdout)")
    }
}
