import Foundation
import Testing
@testable import WarmsetAnalysis
@testable import WarmsetSketch

/// What a new user ran into (issue 18, item 11): `--weight time` on free responses, stdin
/// on a terminal, and the coverage line at a small `--top`.
@Suite("Analysis: fixes found by trying it as a new user")
struct RunFixesTests {
    static let format = #"$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time"#

    /// A log with `counts[i]` requests for `/k<i>`, each taking `seconds[i]`.
    func log(_ counts: [Int], seconds: [String]) throws -> String {
        let dir = try TestSupport.temporaryDirectory()
        var text = ""
        for (i, n) in counts.enumerated() {
            for _ in 0..<n { text += "10.0.0.1 [27/Nov/2026:10:00:00 +0000] \"GET /k\(i) HTTP/1.1\" 200 100 \(seconds[i])\n" }
        }
        let path = dir.appendingPathComponent("time.log").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func configuration(_ path: String, exact: Bool) -> AnalysisConfiguration {
        var c = AnalysisConfiguration()
        c.inputs = [path]
        c.format = Self.format
        c.weight = .time
        c.exact = exact
        c.top = 10
        return c
    }

    @Test("--weight time on a log of 0.000 times yields its keys by requests, and says so", arguments: [false, true])
    func allZeroTimes(exact: Bool) throws {
        let path = try log([3, 7, 5], seconds: ["0.000", "0.000", "0.000"])
        let result = try Analyzer.run(configuration(path, exact: exact))
        #expect(result.ranked.map(\.key) == ["/k1", "/k2", "/k0"], "exact: \(exact)")
        let note = "15 counted requests had a $request_time of 0; their keys rank by requests, after the keys that cost time"
        #expect(result.summary.notes.contains(note), "\(result.summary.notes)")
    }

    @Test("keys that cost time rank first, by time; those that cost none follow, by requests", arguments: [false, true])
    func costlyFirst(exact: Bool) throws {
        let path = try log([50, 2, 1, 40], seconds: ["0.000", "0.500", "0.001", "0.000"])
        let result = try Analyzer.run(configuration(path, exact: exact))
        #expect(result.ranked.map(\.key) == ["/k1", "/k2", "/k0", "/k3"], "exact: \(exact)")
        #expect(result.summary.notes.contains(where: { $0.hasPrefix("90 counted requests had a $request_time of 0") }))
    }

    @Test("the stdin notice: only when stdin is read and is a terminal")
    func stdinNotice() {
        var c = AnalysisConfiguration()
        c.inputs = ["-"]
        #expect(c.standardInputNotice(stdinIsTerminal: true)?.contains("Ctrl-D") == true)
        #expect(c.standardInputNotice(stdinIsTerminal: false) == nil)
        c.inputs = ["access.log"]
        #expect(c.standardInputNotice(stdinIsTerminal: true) == nil)
    }

    @Test("the coverage line at a small --top: rows only up to the keys known, never below the row before")
    func coverageMonotone() {
        // The report's case: top 10 printed 47.5%, then top 100 printed 47.4%–100.0%.
        let seen = SelectionSummary(
            curve: [
                .init(top: 10, share: 0.4747, lowerShare: 0.4744), .init(top: 100, share: 1, lowerShare: 0.4744),
                .init(top: 1000, share: 1, lowerShare: 0.4744),
            ], fromEstimates: true, endedBy: "top", rules: "--top 10", coverage: 0.4747, bytes: 0)
        #expect(seen.coverageText(keysKnown: 20) == "top 10 47.4%–47.5%")
        #expect(seen.coverageText(keysKnown: 5) == "top 10 47.4%–47.5%", "fewer keys than the first row: that row")
        #expect(seen.coverageText(keysKnown: 100) == "top 10 47.4%–47.5%, top 100 47.4%–100.0%")

        // Any curve whose ends grow prints ends that grow.
        var random = SeededRandomForTests(seed: 18)
        print("seed 18")
        for _ in 0..<2_000 {
            var lower = 0.0, upper = 0.0
            var curve: [SelectionSummary.Point] = []
            for top in Selection.curveTops {
                lower = min(1, lower + Double(random.below(3)) * 0.0002)
                upper = min(1, max(upper + Double(random.below(3)) * 0.0002, lower + Double(random.below(2)) * 0.0004))
                curve.append(.init(top: top, share: upper, lowerShare: lower))
            }
            let summary = SelectionSummary(curve: curve, fromEstimates: true, endedBy: "top", rules: "", coverage: 0, bytes: 0)
            var previous = (lower: -1.0, upper: -1.0)
            for row in summary.coverageText(keysKnown: 100_000).split(separator: ", ") {
                let ends = row.split(separator: " ")[2].split(separator: "–").map { Double($0.dropLast()) ?? -1 }
                let now = (lower: ends[0], upper: ends.last ?? -1)
                #expect(now.lower >= previous.lower && now.upper >= previous.upper, "\(summary.coverageText(keysKnown: 100_000))")
                previous = now
            }
        }
    }
}
