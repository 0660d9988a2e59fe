#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetEmit
import WarmsetFormat
import WarmsetKeys
import WarmsetSketch

/// `--report FILE.html`: one self-contained page (inline SVG and CSS, no script, no external
/// asset) with the coverage curve, the top keys with counts and bounds, requests over time,
/// what was filtered out and why, and the parameters of the run.
public enum HTMLReport {
    /// Rows of the top-keys table.
    public static let tableRows = 200

    /// The page.
    /// - Complexity: O(k + t) for k keys shown and t timeline buckets.
    public static func render(_ result: AnalysisResult, configuration c: AnalysisConfiguration) -> String {
        let s = result.summary
        var html = page(title: "warmset report")
        let mode = s.counting.mode == "exact" ? "exact counts" : (s.counting.recounted == true ? "sketch, recounted exactly" : "count-min sketch estimates")
        html += "<p class=\"sub\">\(Format.count(s.requestsCounted)) requests counted from \(Format.count(s.linesRead)) lines; \(result.ranked.count) keys chosen; \(esc(mode)).</p>\n"
        for warning in [s.selection?.warning].compactMap({ $0 }) + (s.partial ? ["PARTIAL: " + s.errors.joined(separator: "; ")] : []) {
            html += "<p class=\"note\">\(esc(warning))</p>\n"
        }
        html += "<div class=\"grid\"><section>\n<h2>Coverage curve</h2>\n"
        html += coverageSVG(result)
        html += coverageTable(s)
        html += "</section><section>\n<h2>Requests over time</h2>\n"
        html += timelineSVG(result.timeline)
        html += "</section></div>\n"
        html += topKeysTable(result, configuration: c)
        html += filteredTable(s)
        html += parametersTable(result, configuration: c)
        html += pageEnd
        return html
    }

    /// A report page's start: the document head with the reports' style, and `title` as its
    /// title and heading.
    static func page(title: String, style: String = "") -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(esc(title))</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
        .sub{color:#5b6577;margin:0 0 12px}
        table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef1f5;vertical-align:top}
        th{background:#f5f7fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
        .grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}@media(max-width:800px){.grid{grid-template-columns:1fr}}
        svg{background:#fbfcfe;border:1px solid #e3e7ee;border-radius:4px}
        .note{color:#8a5a00;background:#fff8e6;padding:6px 10px;border-radius:4px;margin:6px 0}
        \(style)</style></head><body>
        <h1>\(esc(title))</h1>

        """
    }

    /// A report page's end.
    static let pageEnd = "<p class=\"sub\">Written by warmset. Self-contained: no scripts, no external assets.</p>\n</body></html>\n"

    static func esc(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func num(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }

    /// The cumulative share of the chosen keys by rank on a log axis, with the summary's
    /// curve points (10 … 100k) marked.
    static func coverageSVG(_ result: AnalysisResult) -> String {
        let frame = SVGFrame(width: 520, height: 300, left: 48, right: 16, top: 14, bottom: 36)
        let left = frame.left, plotW = frame.plotWidth
        let total = result.summary.weightCounted ?? Double(result.summary.requestsCounted)
        let points = result.summary.selection?.curve ?? []
        let maxRank = max(Double(max(result.ranked.count, points.filter { $0.share != nil }.map(\.top).max() ?? 10)), 10)
        let decades = max(1.0, Double(Int(log10Safe(maxRank).rounded(.up))))
        func x(_ rank: Double) -> Double { left + plotW * min(log10Safe(max(rank, 1)) / decades, 1) }
        let y = frame.y(share:)
        var svg = frame.open(id: "coverage-curve", label: "coverage curve", title: "Share of counted requests covered by the top k keys")
        svg += frame.shareGrid()
        for d in 0...Int(decades) {
            let rank = pow10(d)
            svg += frame.verticalGridLine(x: x(rank), label: shortCount(Int(rank)))
        }
        svg += frame.caption("top k keys (log scale)")
        if total > 0 && !result.ranked.isEmpty {
            var path = ""
            var sum = 0.0
            var lastX = -1.0
            for (i, key) in result.ranked.enumerated() {
                sum += key.rankValue
                let px = x(Double(i + 1))
                if px - lastX >= 1 || i == result.ranked.count - 1 {
                    path += (path.isEmpty ? "M" : " L") + "\(num(px)),\(num(y(sum / total)))"
                    lastX = px
                }
            }
            svg += "<path class=\"curve\" d=\"\(path)\" fill=\"none\" stroke=\"#2463eb\" stroke-width=\"2\"/>\n"
        }
        for point in points {
            // Points whose true share is only known as a wide range are left to the table.
            guard let share = point.share, share - (point.lowerShare ?? share) < 0.02 else { continue }
            svg += "<circle class=\"curve-point\" cx=\"\(num(x(Double(point.top))))\" cy=\"\(num(y(share)))\" r=\"4\" fill=\"#e8590c\"><title>top \(point.top): \(num(share * 100))%</title></circle>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    static func coverageTable(_ s: AnalysisSummary) -> String {
        guard let selection = s.selection else { return "" }
        var html = "<table id=\"coverage-table\"><tr><th>top k</th><th>share covered</th></tr>\n"
        for point in selection.curve {
            var cell = point.share.map { num($0 * 100) + "%" } ?? "unknown"
            if let lower = point.lowerShare, let share = point.share, lower < share { cell = "\(num(lower * 100))–\(num(share * 100))%" }
            html += "<tr><td class=\"n\">\(shortCount(point.top))</td><td>\(esc(cell))</td></tr>\n"
        }
        html += "</table>\n"
        if selection.fromEstimates {
            html += "<p class=\"sub\">From sketch estimates: the true share lies in the range. The lower end subtracts ε·N per key; past the keys tracked, the upper end counts each further key at the miss bound.</p>\n"
        }
        return html
    }

    static func timelineSVG(_ timeline: Timeline?) -> String {
        let frame = SVGFrame(width: 520, height: 300, left: 56, right: 12, top: 14, bottom: 36)
        let bars = timeline?.coarsened(to: 120) ?? []
        var svg = frame.open(id: "requests-over-time", label: "requests over time", title: "Counted requests over log time")
        guard let first = bars.first, let last = bars.last, let peak = bars.map(\.requests).max(), peak > 0 else {
            return svg + frame.empty("no log times read (sketch inputs carry none; or the format has no $time_local or $time_iso8601)")
        }
        let width = frame.width, height = frame.height, left = frame.left, right = frame.right, bottom = frame.bottom
        let top = frame.top, plotW = frame.plotWidth, plotH = frame.plotHeight
        let step = bars.count > 1 ? Double(bars[1].start - bars[0].start) : 60
        let span = max(Double(last.start - first.start) + step, 1)
        svg += frame.countGrid(peak: Double(peak))
        for bar in bars {
            let bx = left + plotW * Double(bar.start - first.start) / span
            let bw = max(plotW * step / span - 1, 1)
            let bh = plotH * Double(bar.requests) / Double(peak)
            svg += "<rect class=\"bar\" x=\"\(num(bx))\" y=\"\(num(top + plotH - bh))\" width=\"\(num(bw))\" height=\"\(num(bh))\" fill=\"#2463eb\"><title>\(esc(iso(bar.start))): \(bar.requests)</title></rect>\n"
        }
        svg += "<text x=\"\(num(left))\" y=\"\(num(height - bottom + 16))\" font-size=\"11\" fill=\"#5b6577\">\(esc(iso(first.start)))</text>"
        svg += "<text x=\"\(num(width - right))\" y=\"\(num(height - bottom + 16))\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6577\">\(esc(iso(last.start + Int64(step))))</text>\n"
        svg += frame.caption("log time (UTC), \(shortDuration(Int64(step))) buckets")
        svg += "</svg>\n"
        return svg
    }

    static func topKeysTable(_ result: AnalysisResult, configuration c: AnalysisConfiguration) -> String {
        let s = result.summary
        let weighted = s.weightCounted != nil
        let bound = s.counting.errorBoundWeight ?? Double(s.counting.errorBound)
        var html = "<h2>Top keys</h2>\n"
        if let selection = s.selection {
            html += "<p class=\"sub\">Chosen by \(esc(selection.rules)); the list ended at \(esc(selection.endedBy)). \(result.ranked.count) keys, covering \(num(selection.coverage * 100))% of the counted \(weighted ? "weight" : "requests")"
            if selection.bytes > 0 { html += ", about \(esc(Format.bytes(selection.bytes))) of objects" }
            html += ".</p>\n"
        }
        html += "<table id=\"top-keys\"><tr><th>rank</th><th>key</th><th>\(weighted ? "score" : "count")</th><th>true value within</th><th>mean bytes</th><th>path</th></tr>\n"
        for (i, key) in result.ranked.prefix(tableRows).enumerated() {
            let value = key.score.map(num) ?? Format.count(key.count)
            let range: String
            if s.counting.mode == "exact" || s.counting.recounted == true {
                range = "exact"
            } else {
                let low = max(key.rankValue - bound, 0)
                range = "\(weighted ? num(low) : Format.count(UInt64(low)))–\(value)"
            }
            html += "<tr><td class=\"n\">\(i + 1)</td><td><code>\(esc(key.key))</code></td><td class=\"n\">\(value)</td><td class=\"n\">\(esc(range))</td><td class=\"n\">\(key.meanBytes > 0 ? Format.count(key.meanBytes) : "–")</td><td><code>\(esc(key.path))</code></td></tr>\n"
        }
        html += "</table>\n"
        if result.ranked.count > tableRows {
            html += "<p class=\"sub\">… and \(result.ranked.count - tableRows) more in the manifest.</p>\n"
        }
        return html
    }

    static func filteredTable(_ s: AnalysisSummary) -> String {
        var html = "<h2>Filtered out</h2>\n<table id=\"filtered\"><tr><th>reason</th><th>requests</th></tr>\n"
        html += "<tr><td>malformed lines (do not match the format)</td><td class=\"n\">\(Format.count(s.linesMalformed))</td></tr>\n"
        for reason in RequestFilter.Reason.allCases {
            if let n = s.filtered[reason.rawValue] {
                html += "<tr><td>\(esc(reason.explanation))</td><td class=\"n\">\(Format.count(n))</td></tr>\n"
            }
        }
        html += "<tr><th>counted</th><th class=\"n\">\(Format.count(s.requestsCounted))</th></tr></table>\n"
        if !s.malformedSamples.isEmpty {
            html += "<p class=\"sub\">First malformed lines:</p><ul>" + s.malformedSamples.map { "<li><code>\(esc($0))</code></li>" }.joined() + "</ul>\n"
        }
        for note in s.notes { html += "<p class=\"note\">\(esc(note))</p>\n" }
        return html
    }

    static func parametersTable(_ result: AnalysisResult, configuration c: AnalysisConfiguration) -> String {
        let s = result.summary
        var rows: [(String, String)] = []
        rows.append(("inputs", s.inputs.map { $0.path + ($0.sketchRequests != nil ? " (sketch)" : $0.gzip ? " (gzip)" : "") }.joined(separator: ", ")))
        rows.append(("format", c.format))
        rows.append(("methods / status", "\(c.methods) / \(c.status)"))
        if let since = c.since { rows.append(("since", since)) }
        if let until = c.until { rows.append(("until", until)) }
        if let host = c.host { rows.append(("host", host)) }
        if !c.excludes.isEmpty { rows.append(("exclude", c.excludes.joined(separator: "  "))) }
        if !c.rules.isEmpty { rows.append(("rules", c.rules.joined(separator: "\n"))) }
        rows.append(("keep query", c.keepQuery))
        let counting = s.counting
        if counting.mode == "exact" {
            rows.append(("counting", "exact, \(Format.bytes(Int64(counting.memoryBytes)))"))
        } else {
            rows.append(("counting", "count-min sketch \(counting.depth ?? 0)×\(Format.count(counting.width ?? 0)), \(counting.update ?? "conservative") update, \(Format.bytes(Int64(counting.memoryBytes)))\(counting.recounted == true ? ", candidates recounted exactly" : "")"))
            rows.append(("error bound ε·N", counting.errorBoundWeight.map(num) ?? Format.count(counting.errorBound)))
            rows.append(("ε, δ", "\(counting.epsilon ?? 0), \(counting.delta ?? 0)"))
            if let miss = counting.missBound { rows.append(("miss bound", "keys not tracked have a true \(s.weightCounted != nil ? "weight" : "count") ≤ \(num(miss))")) }
            if let candidates = counting.candidates { rows.append(("candidates", Format.count(candidates))) }
        }
        rows.append(("weight", c.weight.description + (c.halfLifeSeconds.map { ", half-life \(shortDuration($0))" } ?? "")))
        rows.append(("top", String(c.top)))
        if let selection = s.selection { rows.append(("selection", selection.rules)) }
        rows.append(("elapsed", "\(num(s.elapsedSeconds)) s, \(num(s.megabytesPerSecond)) MB/s"))
        var html = "<h2>Parameters</h2>\n<table id=\"parameters\">\n"
        for (name, value) in rows { html += "<tr><th>\(esc(name))</th><td><code>\(esc(value))</code></td></tr>\n" }
        return html + "</table>\n"
    }

    static func log10Safe(_ x: Double) -> Double { x > 0 ? log10(x) : 0 }

    static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<max(n, 0) { v *= 10 }
        return v
    }

    static func shortCount(_ n: Int) -> String {
        if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000)M" }
        if n >= 1_000 && n % 1_000 == 0 { return "\(n / 1_000)k" }
        return String(n)
    }

    static func shortDuration(_ seconds: Int64) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) d" }
        if seconds % 3_600 == 0 { return "\(seconds / 3_600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    /// `2026-11-27T06:00Z`.
    static func iso(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
        let secs = t - days * 86_400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs / 60 % 60))Z"
    }
}

/// A chart's frame in the reports' SVG: its size, the margins around the plot area, and the
/// pieces every chart draws the same way (grid lines with their labels, the caption).
struct SVGFrame {
    let width: Double, height: Double, left: Double, right: Double, top: Double, bottom: Double
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    /// The `<svg>` element's opening and its title.
    func open(id: String, label: String, title: String) -> String {
        "<svg id=\"\(HTMLReport.esc(id))\" role=\"img\" aria-label=\"\(HTMLReport.esc(label))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>\(HTMLReport.esc(title))</title>\n"
    }

    /// A chart with nothing to draw: `text` in its middle, and the end of the element.
    func empty(_ text: String) -> String {
        "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\" fill=\"#5b6577\">\(HTMLReport.esc(text))</text></svg>\n"
    }

    /// The height of a share from 0 to 1 (clamped), 1 at the top of the plot.
    func y(share: Double) -> Double { top + plotHeight * (1 - min(max(share, 0), 1)) }

    /// A horizontal grid line at `y` with its label left of the plot.
    func horizontalGridLine(y: Double, label: String) -> String {
        let num = HTMLReport.num
        return "<line x1=\"\(num(left))\" y1=\"\(num(y))\" x2=\"\(num(width - right))\" y2=\"\(num(y))\" stroke=\"#e3e7ee\"/>"
            + "<text x=\"\(num(left - 6))\" y=\"\(num(y + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6577\">\(HTMLReport.esc(label))</text>\n"
    }

    /// A vertical grid line at `x` with its label under the plot.
    func verticalGridLine(x: Double, label: String) -> String {
        let num = HTMLReport.num
        return "<line x1=\"\(num(x))\" y1=\"\(num(top))\" x2=\"\(num(x))\" y2=\"\(num(top + plotHeight))\" stroke=\"#eef1f5\"/>"
            + "<text x=\"\(num(x))\" y=\"\(num(height - bottom + 16))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6577\">\(HTMLReport.esc(label))</text>\n"
    }

    /// Grid lines at 0, 25, 50, 75 and 100%.
    func shareGrid() -> String {
        stride(from: 0.0, through: 1.0, by: 0.25).map { horizontalGridLine(y: y(share: $0), label: "\(Int($0 * 100))%") }.joined()
    }

    /// Grid lines at 0, half of `peak` and `peak` (the top of the plot), labelled with counts.
    func countGrid(peak: Double) -> String {
        [0.0, 0.5, 1.0].map { horizontalGridLine(y: y(share: $0), label: HTMLReport.shortCount(Int((peak * $0).rounded()))) }.joined()
    }

    /// The x axis' caption, under the plot's middle.
    func caption(_ text: String) -> String {
        "<text x=\"\(HTMLReport.num(left + plotWidth / 2))\" y=\"\(HTMLReport.num(height - 4))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6577\">\(HTMLReport.esc(text))</text>\n"
    }
}

/// Human number formatting, shared by the report and the command line's summaries.
public enum Format {
    /// `1234567` → `1,234,567`.
    public static func count<T: BinaryInteger>(_ n: T) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// `16777216` → `16.0 MiB`.
    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `12.345` → `12.3%`.
    public static func percent(_ value: Double) -> String { String(format: "%.1f%%", value) }

    /// `0.5` → `0.50 s`, `75` → `1m15s`.
    public static func seconds(_ s: Double) -> String {
        if s < 60 { return String(format: "%.2f s", s) }
        return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }
}

/// Writes the report atomically.
public enum ReportFile {
    /// Renders and writes the report to `path`.
    /// - Throws: `EmitError`.
    public static func write(_ result: AnalysisResult, configuration: AnalysisConfiguration, to path: String) throws(EmitError) {
        try OutputFile.write(Array(HTMLReport.render(result, configuration: configuration).utf8), to: path)
    }
}
