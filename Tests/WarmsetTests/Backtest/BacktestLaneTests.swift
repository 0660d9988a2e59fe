import Foundation
import Testing
@testable import WarmsetAnalysis
@testable import WarmsetInput
@testable import WarmsetSketch

/// The backtest reads on analyze's parse lanes, a recorder per lane merged in input order: the
/// result must be the one-lane result, request for request.
@Suite("Backtest on parse lanes")
struct BacktestLaneTests {
    /// Two days of seeded traffic over 3,000 keys (Zipf-like), each request jittered up to
    /// 3 s: many keys first seen in different chunks, and files out of order.
    static func traffic(seed: UInt64) -> [(time: Int64, path: String)] {
        var rng = SplitMix(seed: seed)
        func next() -> UInt64 { rng.next() }
        var out: [(time: Int64, path: String)] = []
        var t = BacktestFixture.day0
        while t < BacktestFixture.day0 + 2 * BacktestFixture.day {
            t += Int64(next() % 20) + 1
            let rank = Int(next() % 3000)
            out.append((t + Int64(next() % 7) - 3, "/k/\(rank * rank / 3000)"))
        }
        return out
    }

    /// A configuration reading `inputs` on `lanes` lanes in chunks of 4 KiB (so a few hundred
    /// chunks per file; lanes need lines of at most a quarter chunk).
    static func configuration(_ inputs: [String], lanes: Int, at: [Int64]) -> BacktestConfiguration {
        var c = BacktestConfiguration()
        c.analysis.inputs = inputs
        c.analysis.parseThreads = lanes
        c.analysis.parallelChunkSize = 4096
        c.analysis.maxLineBytes = 1024
        c.at = at
        c.windowSeconds = 900
        c.tops = [10, 100, 1000]
        c.strategies = [.frequency(historySeconds: nil), .recent(halfLifeSeconds: 3600), .season(periodSeconds: 3600)]
        return c
    }

    @Test("each lane records its chunks; merged, the requests and their keys are the one-lane recorder's, in order", arguments: [2, 3])
    func mergedRecorderEqualsOneLane(lanes: Int) throws {
        let requests = Self.traffic(seed: 11)
        let path = try BacktestFixture.write(requests)
        let c = Self.configuration([path], lanes: lanes, at: [])
        let compiled = try Backtest.compile(c)
        func record(_ lanes: Int) throws -> [BacktestRecorder] {
            let recorders = (0..<lanes).map { _ in BacktestRecorder() }
            let run = try LaneRun(
                c.analysis, compiled: compiled, counter: .exact(ExactCounter()), sinks: recorders, lanes: lanes, threads: lanes,
                sampleLimit: 5)
            var summary = AnalysisSummary()
            let outcome = run.run([(path, try InputOpener.open(path))], summary: &summary) { _, _ in }
            #expect(outcome.linesRead == requests.count)
            return recorders
        }
        let one = try record(1)[0]
        let split = try record(lanes)
        #expect(split.allSatisfy { $0.count > 1000 }, "every lane recorded a share: \(split.map(\.count))")
        let merged = BacktestRecorder.merged(split)
        #expect(one.count == requests.count)
        func recorded(_ recorder: BacktestRecorder) -> [String] {
            var out: [String] = []
            recorder.forEachRequest { time, id in out.append("\(time) \(recorder.keys.key(id))") }
            return out
        }
        #expect(recorded(merged) == recorded(one), "the same requests in the same order, under the same keys")
        #expect(merged.keys.count == one.keys.count)
        #expect(merged.oldest == one.oldest && merged.newest == one.newest && merged.untimed == one.untimed)
    }

    @Test("a backtest on 2 and 3 lanes (plain and gzip input) gives the one-lane rows, aggregates and json byte for byte")
    func backtestOnLanesEqualsOneLane() throws {
        let requests = Self.traffic(seed: 2026)
        let cut = requests.count / 2
        let a = try BacktestFixture.write(Array(requests[..<cut]), name: "a.log")
        let b = try BacktestFixture.write(Array(requests[cut...]), name: "b.log")
        #expect(try TestSupport.shell("gzip -c '\(b)' > '\(b).gz'") == 0)
        let at: [Int64] = [BacktestFixture.day0 + BacktestFixture.day + 9 * 3600, BacktestFixture.day0 + BacktestFixture.day + 20 * 3600 + 77]
        for inputs in [[a, b], [a, "\(b).gz"]] {
            let one = try Backtest.run(Self.configuration(inputs, lanes: 1, at: at))
            #expect(one.parseLanes == 1)
            #expect(one.rows.count == 2 * 3 * 3)
            #expect(one.rows.contains { $0.hitShare > 0.5 }, "the fixture has warm sets worth measuring")
            for lanes in [2, 3] {
                let c = Self.configuration(inputs, lanes: lanes, at: at)
                #expect(LaneRun.laneCount(c.analysis, counter: .exact(ExactCounter()), counterOverride: false, weighted: false) == lanes)
                let split = try Backtest.run(c)
                #expect(split.parseLanes == lanes, "the backtest read on the lanes, not on one")
                #expect(split.rows == one.rows, "\(lanes) lanes, \(inputs)")
                #expect(split.aggregates == one.aggregates)
                #expect(split.distinctKeys == one.distinctKeys && split.requestsTimed == one.requestsTimed)
                #expect(split.linesRead == requests.count)
                #expect(split.rendered(.json) == one.rendered(.json))
            }
        }
    }
}
