import Foundation
import Testing
import WarmsetAnalysis

/// The backtest's misses per minute against a request-by-request count, its HTML report through
/// the built binary (numbers checked against the json output, rendered by headless Chromium),
/// and what `-q` leaves on stderr.
@Suite("Backtest report")
struct BacktestReportTests {
    @Test("misses per minute after T equal a cache run request by request in time order; they sum to the cold and warm misses",
          arguments: [UInt64(7), 2026], [Int64(900), 630])
    func missesPerMinuteAgreeWithBruteForce(seed: UInt64, window: Int64) throws {
        let (first, second) = BacktestTests.mixedTraffic(seed: seed)
        let a = try BacktestFixture.write(first, name: "a.log")
        let b = try BacktestFixture.write(second, name: "b.log")
        let requests = first + second
        let times: [Int64] = [
            BacktestFixture.day0 + 2 * BacktestFixture.day + 9 * 3600,  // the burst's day 3
            (second.first?.time ?? 0) + 1,  // inside the overlap of the two files, out of order
        ]
        let strategies: [(BacktestStrategy, BacktestReference.Strategy)] = [
            (.frequency(historySeconds: nil), .frequency(history: nil)), (.recent(halfLifeSeconds: 3600), .recent(3600)),
        ]
        var compared = 0
        for (strategy, reference) in strategies {
            let result = try Backtest.run(BacktestTests.configuration([a, b], at: times, window: window, tops: [1, 3, 10], strategies: [strategy]))
            for row in result.rows {
                let expected = BacktestReference(requests, at: row.at, window: window, top: row.top, strategy: reference)
                let context = "seed \(seed) window \(window) \(strategy) at \(row.at) top \(row.top)"
                #expect(row.coldMissesPerMinute.count == Int((window + 59) / 60), "\(context)")
                #expect(row.coldMissesPerMinute == expected.coldMissesPerMinute, "\(context)")
                #expect(row.warmMissesPerMinute == expected.warmMissesPerMinute, "\(context)")
                #expect(row.coldMissesPerMinute.reduce(0, +) == row.coldMisses, "\(context)")
                #expect(row.warmMissesPerMinute.reduce(0, +) == row.warmMisses, "\(context)")
                compared += 1
            }
        }
        #expect(compared == 2 * times.count * 3)
    }

    /// The seeded two-file traffic with two deploy times, written by the built binary as json
    /// and as the report: the json object and the page.
    static func writeReport() throws -> (json: [String: Any], html: String, report: URL) {
        let (first, second) = BacktestTests.mixedTraffic(seed: 7)
        let a = try BacktestFixture.write(first, name: "a.log")
        let b = try BacktestFixture.write(second, name: "b.log")
        let report = try ScaleSupport.temporaryDirectory("backtest-report").appendingPathComponent("backtest.html")
        let at = BacktestFixture.day0 + 2 * BacktestFixture.day + 9 * 3600
        let run = try TestSupport.run([
            "backtest", a, b, "--at", Backtest.iso8601(at), "--at", Backtest.iso8601(at - BacktestFixture.day), "--window", "15m",
            "--top", "1,3,10", "--strategy", "frequency,recent:1h,season:1d", "--output-format", "json", "--report", report.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        return (json, try String(contentsOf: report, encoding: .utf8), report)
    }

    @Test("the report is one self-contained page whose charts carry the json's figures for each strategy")
    func reportCarriesTheFigures() throws {
        let (json, html, _) = try Self.writeReport()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</body></html>\n"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url("))
        for id in ["hit-share-mean", "hit-share-0", "hit-share-1", "misses-per-minute-0", "misses-per-minute-1"] {
            #expect(html.contains("<svg id=\"\(id)\""), "\(id)")
        }
        #expect(html.contains("<table id=\"aggregates\">") && html.contains("<table id=\"rows-0\">") && html.contains("<table id=\"rows-1\">"))

        // Each section's hit-share chart holds a point per strategy and N with the row's share;
        // its misses chart, the cold cache's and each warm start's counts at the largest N.
        let sections = html.components(separatedBy: "<h2 id=\"at-").dropFirst()
        let rows = try #require(json["rows"] as? [[String: Any]])
        let perMinute = try #require(json["misses_per_minute"] as? [[String: Any]])
        #expect(sections.count == 2 && perMinute.count == 2)
        for (i, (section, minutes)) in zip(sections, perMinute).enumerated() {
            let at = try #require(minutes["at"] as? String)
            #expect(section.hasPrefix("\(i)\">At \(at), the next 15m: "), "\(at)")
            for row in rows where row["at"] as? String == at {
                let strategy = try #require(row["strategy"] as? String), top = try #require(row["top"] as? Int)
                let share = String(format: "%.6f", try #require(row["hit_share"] as? Double))
                #expect(section.contains("class=\"point\" data-strategy=\"\(strategy)\" data-top=\"\(top)\" data-hit-share=\"\(share)\""), "\(at) \(strategy) \(top)")
                let oracle = String(format: "%.6f", try #require(row["oracle_hit_share"] as? Double))
                #expect(section.contains("class=\"oracle-point\" data-strategy=\"oracle\" data-top=\"\(top)\" data-hit-share=\"\(oracle)\""), "\(at) \(top)")
            }
            let cold = try #require(minutes["cold"] as? [Int])
            #expect(cold.count == 15)
            #expect(section.contains("data-strategy=\"cold\" data-misses=\"\(cold.map(String.init).joined(separator: ","))\""), "\(at)")
            let warm = try #require(minutes["warm"] as? [[String: Any]])
            for entry in warm where entry["top"] as? Int == 10 {
                let strategy = try #require(entry["strategy"] as? String)
                let misses = try #require(entry["misses"] as? [Int])
                #expect(section.contains("data-strategy=\"\(strategy)\" data-top=\"10\" data-misses=\"\(misses.map(String.init).joined(separator: ","))\""), "\(at) \(strategy)")
            }
            #expect(warm.count == 9)
        }
        let aggregates = try #require(json["aggregates"] as? [[String: Any]])
        let mean = try #require(html.components(separatedBy: "<svg id=\"hit-share-mean\"").dropFirst().first)
        for a in aggregates {
            let strategy = try #require(a["strategy"] as? String), top = try #require(a["top"] as? Int)
            let share = String(format: "%.6f", try #require(a["mean_hit_share"] as? Double))
            #expect(mean.contains("class=\"point\" data-strategy=\"\(strategy)\" data-top=\"\(top)\" data-hit-share=\"\(share)\""), "\(strategy) \(top)")
        }
    }

    @Test("headless Chromium renders the charts and the tables", .enabled(if: ReportTests.chromium != nil, "chromium is not installed (make test installs it)"))
    func rendersInChromium() throws {
        let (_, _, report) = try Self.writeReport()
        let dom = try ReportTests.renderInChromium(report)
        // The browser's own serialization of the parsed page: three hit-share charts of 3
        // strategies × 3 sizes plus the oracle's 3 points, two misses charts of 1 + 3 lines.
        #expect(dom.components(separatedBy: "class=\"point\"").count - 1 == 27)
        #expect(dom.components(separatedBy: "class=\"oracle-point\"").count - 1 == 9)
        #expect(dom.components(separatedBy: "class=\"misses\"").count - 1 == 8)
        #expect(dom.range(of: #"<path class="series" data-strategy="frequency" d="M[0-9.]+,[0-9.]+ L"#, options: .regularExpression) != nil)
        #expect(dom.contains("id=\"rows-1\""))
    }

    @Test("a --report path that cannot be written is one sentence and exit 1, with nothing on stdout")
    func unwritableReport() throws {
        let (requests, at) = BacktestFixture.morningRush()
        let path = try BacktestFixture.write(requests)
        let run = try TestSupport.run([
            "backtest", path, "--at", Backtest.iso8601(at), "--top", "5", "--output-format", "tsv", "--report", "/nonexistent-dir/backtest.html",
        ])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        #expect(run.stderr.hasPrefix("warmset: --report /nonexistent-dir/backtest.html: "), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test("-q leaves nothing on stderr but errors; stdout's tsv and json are the same with and without it, and with --report",
          arguments: ["tsv", "json"])
    func quietLeavesStdoutAlone(format: String) throws {
        let (requests, at) = BacktestFixture.morningRush()
        // A malformed line makes a note on stderr.
        let lines = requests.map { BacktestFixture.line($0.time, $0.path) } + ["not a log line"]
        let path = try TestSupport.generatedFile("access.log", lines: lines.count) { lines[$0] }.path
        let arguments = ["backtest", path, "--at", Backtest.iso8601(at), "--top", "5", "--output-format", format]
        let plain = try TestSupport.run(arguments)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("note: 1 of "), "\(plain.stderr)")
        let quiet = try TestSupport.run(arguments + ["-q"])
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        #expect(quiet.stdout == plain.stdout)
        let report = try ScaleSupport.temporaryDirectory("backtest-quiet").appendingPathComponent("r.html").path
        let reported = try TestSupport.run(arguments + ["--quiet", "--report", report])
        #expect(reported.status == 0)
        #expect(reported.stderr.isEmpty, "\(reported.stderr)")
        #expect(reported.stdout == plain.stdout)
        #expect(FileManager.default.fileExists(atPath: report))
        // An error still reaches stderr under -q.
        let failed = try TestSupport.run(["backtest", path, "--at", "2020-01-01T00:00:00Z", "-q"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("is outside the logs' time range"), "\(failed.stderr)")
    }
}
