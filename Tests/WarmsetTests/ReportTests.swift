import Foundation
import Testing

/// `--report FILE.html`, rendered by headless Chromium.
@Suite("HTML report")
struct ReportTests {
    static let chromium: URL? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .map(URL.init(fileURLWithPath:)).first { FileManager.default.isExecutableFile(atPath: $0.path) }

    static func writeReport() throws -> (URL, String) {
        let dir = try ScaleSupport.temporaryDirectory("report")
        let report = dir.appendingPathComponent("report.html")
        let sample = ScaleSupport.root.appendingPathComponent("fixtures/sample/access.log.gz").path
        let rules = ScaleSupport.root.appendingPathComponent("fixtures/sample/rules.yaml").path
        let run = try ScaleSupport.run(["analyze", sample, "--rules", rules, "--top", "300", "--coverage", "0.9", "-o", "/dev/null", "--report", report.path, "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        return (report, try String(contentsOf: report, encoding: .utf8))
    }

    @Test("the page is self-contained: inline SVG, no script, no external asset")
    func selfContained() throws {
        let (_, html) = try Self.writeReport()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg id=\"coverage-curve\""))
        #expect(html.contains("<svg id=\"requests-over-time\""))
        #expect(html.contains("<table id=\"top-keys\">"))
        #expect(html.contains("<table id=\"filtered\">"))
        #expect(html.contains("<table id=\"parameters\">"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url("))
    }

    /// The page `report` as headless Chromium parsed it (its DOM serialized), having checked
    /// that a screenshot of it is a real picture, not an error page.
    static func renderInChromium(_ report: URL) throws -> String {
        let browser = try #require(chromium)
        let profile = try ScaleSupport.temporaryDirectory("chromium-profile")
        let run = try ScaleSupport.runProgram(browser, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile.path)", "--dump-dom",
            report.absoluteString,
        ], timeout: 90)
        #expect(run.status == 0, "\(run.stderr)")
        let png = profile.appendingPathComponent("shot.png")
        let shot = try ScaleSupport.runProgram(browser, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile.path)",
            "--window-size=1200,1600", "--screenshot=\(png.path)", report.absoluteString,
        ], timeout: 90)
        #expect(shot.status == 0)
        let data = try Data(contentsOf: png)
        #expect(data.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        #expect(data.count > 20_000)
        return run.text
    }

    @Test("headless Chromium renders the curve and the table", .enabled(if: ReportTests.chromium != nil, "chromium is not installed (make test installs it)"))
    func rendersInChromium() throws {
        let (report, _) = try Self.writeReport()
        let dom = try Self.renderInChromium(report)
        // The browser's own serialization of the parsed page: the SVG curve with its path and
        // points, the bars over time, and the table with a row per key.
        #expect(dom.contains("id=\"coverage-curve\""))
        #expect(dom.range(of: #"<path class="curve" d="M[0-9.]+,[0-9.]+ L"#, options: .regularExpression) != nil)
        #expect(dom.components(separatedBy: "class=\"curve-point\"").count - 1 >= 2)
        #expect(dom.components(separatedBy: "class=\"bar\"").count - 1 >= 10)
        #expect(dom.contains("id=\"top-keys\""))
        #expect(dom.contains("<code>product:100000</code>"))
        let rows = dom.components(separatedBy: "<tr><td class=\"n\">").count - 1
        #expect(rows >= 100)
    }
}
