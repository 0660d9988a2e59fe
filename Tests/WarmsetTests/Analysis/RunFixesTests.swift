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
}
