#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetEmit

/// `backtest --report FILE.html`: one self-contained page (inline SVG and CSS, no script, no
/// external asset), built from analyze's report pieces (`HTMLReport.page`, `SVGFrame`): for
/// each deploy time T the hit share against N per strategy with the oracle dashed, the misses
/// per minute after T of a cold cache and of each strategy's warm start at the largest N, and
/// the rows; with several T, the mean hit share against N and the mean and worst table first.
public enum BacktestReport {
    /// The strategies' colours, in the order given (then again from the first).
    static let colors = ["#2463eb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#0b7285", "#e67700", "#5c940d"]
    /// The cold cache's and the oracle's colour.
    static let reference = "#5b6577"

    static let style = """
        h3{font-size:14px;margin:4px 0 6px;font-weight:600}
        .legend{font-size:12px;color:#5b6577;margin:4px 0 0}.legend span{margin-right:14px;white-space:nowrap}
        .legend i{display:inline-block;width:16px;height:3px;vertical-align:middle;margin-right:5px}
        .legend i.dash{background:repeating-linear-gradient(90deg,#5b6577 0 5px,transparent 5px 9px)}
        tr.best td{font-weight:600}td.strategy{white-space:nowrap}.grid+table{margin-top:12px}

        """

    /// The page.
    /// - Complexity: O(r · m) for r rows and m minutes in the window.
    public static func render(_ result: BacktestResult) -> String {
        let strategies = strategyNames(result.rows)
        var html = HTMLReport.page(title: "warmset backtest", style: style)
        html += "<p class=\"sub\">\(Format.count(result.requestsTimed)) counted requests with a log time, from \(Format.count(result.linesRead)) lines"
        html += ", \(Format.count(result.distinctKeys)) keys, logged \(Backtest.iso8601(result.oldest)) to \(Backtest.iso8601(result.newest))."
        html += " Each deploy time T is measured over the counted requests of the next \(BacktestStrategy.duration(result.windowSeconds)). Counting is exact.</p>\n"
        for note in result.notes { html += "<p class=\"note\">\(HTMLReport.esc(note))</p>\n" }
        let blocks = result.blocks
        if !result.aggregates.isEmpty {
            html += "<h2>Over \(blocks.count) deploy times</h2>\n<div class=\"grid\"><section>\n<h3>Mean hit share against N</h3>\n"
            let series = strategies.map { name in
                (name, result.aggregates.filter { $0.strategy == name }.map { (top: $0.top, share: $0.meanHitShare) })
            }
            let oracle = result.aggregates.filter { $0.strategy == strategies.first }.map { (top: $0.top, share: $0.meanOracleHitShare) }
            html += hitShareSVG(id: "hit-share-mean", title: "Mean hit share against the warm-set size N over the deploy times", series: series, oracle: oracle)
            html += legend(strategies, oracle: true)
            html += "</section><section>\n<h3>Mean and worst</h3>\n" + aggregatesTable(result.aggregates) + "</section></div>\n"
        }
        for (i, block) in blocks.enumerated() {
            html += section(block, index: i, windowSeconds: result.windowSeconds, strategies: strategies)
        }
        html += "<p class=\"sub\">Hit share: the share of the window's requests whose key was in the warm set. Warm misses: the misses of a cache started from the warm set that keeps every key after its first miss; cold misses: the same cache started empty. Oracle: the window's own top N. * the best strategy at that size. Definitions: docs/backtest.md.</p>\n"
        return html + HTMLReport.pageEnd
    }

    /// Renders and writes the page to `path` atomically (analyze's report file mechanism).
    /// - Throws: `EmitError` naming the step that failed.
    public static func write(_ result: BacktestResult, to path: String) throws(EmitError) {
        try OutputFile.write(Array(render(result).utf8), to: path)
    }

    /// The strategies in the order given (the rows' order).
    static func strategyNames(_ rows: [BacktestRow]) -> [String] {
        var names: [String] = []
        for row in rows where !names.contains(row.strategy) { names.append(row.strategy) }
        return names
    }

    static func color(_ strategy: String, in strategies: [String]) -> String {
        colors[(strategies.firstIndex(of: strategy) ?? 0) % colors.count]
    }

    /// One deploy time: its two charts side by side, then its rows.
    static func section(_ block: ArraySlice<BacktestRow>, index: Int, windowSeconds: Int64, strategies: [String]) -> String {
        let first = block[block.startIndex]
        let at = Backtest.iso8601(first.at)
        let largest = block.map(\.top).max() ?? 0
        var html = "<h2 id=\"at-\(index)\">At \(at), the next \(BacktestStrategy.duration(windowSeconds)): \(Format.count(first.requests)) requests for \(Format.count(first.coldMisses)) keys</h2>\n"
        html += "<div class=\"grid\"><section>\n<h3>Hit share against N</h3>\n"
        let series = strategies.map { name in (name, block.filter { $0.strategy == name }.map { (top: $0.top, share: $0.hitShare) }) }
        let oracle = block.filter { $0.strategy == first.strategy }.map { (top: $0.top, share: $0.oracleHitShare) }
        html += hitShareSVG(id: "hit-share-\(index)", title: "Hit share against the warm-set size N after \(at)", series: series, oracle: oracle)
        html += legend(strategies, oracle: true)
        html += "</section><section>\n<h3>Misses per minute after T, warm starts at N = \(Format.count(largest))</h3>\n"
        let warm = strategies.map { name in (name, block.first { $0.strategy == name && $0.top == largest }?.warmMissesPerMinute ?? []) }
        html += missesSVG(id: "misses-per-minute-\(index)", title: "Misses per minute after \(at): a cold cache and each warm start of N = \(largest) keys",
                          cold: first.coldMissesPerMinute, warm: warm, top: largest, windowSeconds: windowSeconds)
        html += legend(strategies, oracle: false)
        html += "</section></div>\n" + rowsTable(block, index: index)
        return html
    }

    /// Hit share (0–100%) against N on a log axis: a line per strategy, the oracle dashed. Each
    /// point carries its figures (`data-strategy`, `data-top`, `data-hit-share`).
    static func hitShareSVG(id: String, title: String, series: [(String, [(top: Int, share: Double)])], oracle: [(top: Int, share: Double)]) -> String {
        let frame = SVGFrame(width: 520, height: 300, left: 48, right: 16, top: 14, bottom: 36)
        var svg = frame.open(id: id, label: "hit share against N", title: title)
        let tops = Set(oracle.map(\.top) + series.flatMap { $0.1.map(\.top) }).sorted()
        guard let low = tops.first, let high = tops.last else { return svg + frame.empty("no rows") }
        // A log axis, its ends inset so that the points at the smallest and largest N stay whole.
        let inset = 14.0
        let span = log10(Double(high)) - log10(Double(low))
        func x(_ n: Int) -> Double {
            span > 0 ? frame.left + inset + (frame.plotWidth - 2 * inset) * (log10(Double(n)) - log10(Double(low))) / span : frame.left + frame.plotWidth / 2
        }
        svg += frame.shareGrid()
        for n in tops { svg += frame.verticalGridLine(x: x(n), label: HTMLReport.shortCount(n)) }
        svg += frame.caption("warm-set size N (log scale)")
        let line = { (points: [(top: Int, share: Double)], attributes: String, pointClass: String, name: String, color: String) -> String in
            let sorted = points.sorted { $0.top < $1.top }
            let d = sorted.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(HTMLReport.num(x($0.element.top))),\(HTMLReport.num(frame.y(share: $0.element.share)))" }
            var out = "<path \(attributes) d=\"\(d.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for p in sorted {
                out += "<circle class=\"\(pointClass)\" data-strategy=\"\(HTMLReport.esc(name))\" data-top=\"\(p.top)\" data-hit-share=\"\(BacktestResult.fraction(p.share))\""
                out += " cx=\"\(HTMLReport.num(x(p.top)))\" cy=\"\(HTMLReport.num(frame.y(share: p.share)))\" r=\"3.5\" fill=\"\(color)\">"
                out += "<title>\(HTMLReport.esc(name)), N = \(Format.count(p.top)): \(BacktestResult.percent(p.share))</title></circle>\n"
            }
            return out
        }
        svg += line(oracle, "class=\"oracle\" stroke-dasharray=\"5 4\"", "oracle-point", "oracle", reference)
        let names = series.map(\.0)
        for (name, points) in series where !points.isEmpty {
            svg += line(points, "class=\"series\" data-strategy=\"\(HTMLReport.esc(name))\"", "point", name, color(name, in: names))
        }
        return svg + "</svg>\n"
    }

    /// Misses in each minute after T: the cold cache's line (grey, wider) and each strategy's
    /// warm start at N = `top`. Each line carries its counts (`data-misses`, comma-separated).
    static func missesSVG(id: String, title: String, cold: [Int], warm: [(String, [Int])], top: Int, windowSeconds: Int64) -> String {
        let frame = SVGFrame(width: 520, height: 300, left: 48, right: 16, top: 14, bottom: 36)
        var svg = frame.open(id: id, label: "misses per minute after T", title: title)
        let minutes = cold.count
        guard minutes > 0 else { return svg + frame.empty("no minute in the window") }
        // An even top, so that the middle grid line's label is a whole count.
        let highest = (warm.flatMap(\.1) + cold).max() ?? 0
        let peak = Double(max(2, highest + highest % 2))
        func x(_ minute: Int) -> Double { frame.left + frame.plotWidth * (Double(minute) + 0.5) / Double(minutes) }
        func y(_ misses: Int) -> Double { frame.y(share: Double(misses) / peak) }
        svg += frame.countGrid(peak: peak)
        let every = max(1, (minutes + 9) / 10)
        for m in stride(from: 0, to: minutes, by: every) { svg += frame.verticalGridLine(x: x(m), label: String(m + 1)) }
        let partial = windowSeconds % 60
        svg += frame.caption("minute after T" + (partial == 0 ? "" : " (the last is \(partial) s long)"))
        let line = { (counts: [Int], name: String, color: String, width: String) -> String in
            let d = counts.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(HTMLReport.num(x($0.offset))),\(HTMLReport.num(y($0.element)))" }
            var out = "<path class=\"misses\" data-strategy=\"\(HTMLReport.esc(name))\"\(name == "cold" ? "" : " data-top=\"\(top)\"")"
            out += " data-misses=\"\(counts.map(String.init).joined(separator: ","))\" d=\"\(d.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\">"
            return out + "<title>\(HTMLReport.esc(name)): \(counts.reduce(0, +)) misses</title></path>\n"
        }
        svg += line(cold, "cold", reference, "3")
        let names = warm.map(\.0)
        for (name, counts) in warm where !counts.isEmpty { svg += line(counts, name, color(name, in: names), "2") }
        return svg + "</svg>\n"
    }

    /// A colour key under a chart: each strategy, then the cold cache or the dashed oracle.
    static func legend(_ strategies: [String], oracle: Bool) -> String {
        var html = "<p class=\"legend\">"
        for name in strategies { html += "<span><i style=\"background:\(color(name, in: strategies))\"></i>\(HTMLReport.esc(name))</span>" }
        html += oracle ? "<span><i class=\"dash\"></i>oracle (the window's own top N)</span>" : "<span><i style=\"background:\(reference);height:4px\"></i>cold (started empty)</span>"
        return html + "</p>\n"
    }

    /// The rows of one deploy time, as the table output's block.
    static func rowsTable(_ block: ArraySlice<BacktestRow>, index: Int) -> String {
        var html = "<table id=\"rows-\(index)\"><tr><th>strategy</th><th>N</th><th>keys</th><th>hit share</th><th>warm misses</th><th>cold misses</th><th>oracle</th><th>time to fill</th></tr>\n"
        for row in block {
            let cells = [
                Format.count(row.top), Format.count(row.warmSetKeys), BacktestResult.percent(row.hitShare), Format.count(row.warmMisses),
                Format.count(row.coldMisses), BacktestResult.percent(row.oracleHitShare), BacktestResult.elapsed(row.timeToFillSeconds),
            ]
            html += "<tr\(row.best ? " class=\"best\"" : "")><td class=\"strategy\">\(HTMLReport.esc(row.strategy))\(row.best ? " *" : "")</td>"
            html += cells.map { "<td class=\"n\">\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    /// The mean and worst of each strategy and size.
    static func aggregatesTable(_ aggregates: [BacktestAggregate]) -> String {
        var html = "<table id=\"aggregates\"><tr><th>strategy</th><th>N</th><th>mean hit share</th><th>worst</th><th>mean warm misses</th><th>worst</th><th>mean oracle</th></tr>\n"
        for a in aggregates {
            let cells = [
                Format.count(a.top), BacktestResult.percent(a.meanHitShare), BacktestResult.percent(a.worstHitShare),
                HTMLReport.num(a.meanWarmMisses), Format.count(a.worstWarmMisses), BacktestResult.percent(a.meanOracleHitShare),
            ]
            html += "<tr\(a.best ? " class=\"best\"" : "")><td class=\"strategy\">\(HTMLReport.esc(a.strategy))\(a.best ? " *" : "")</td>"
            html += cells.map { "<td class=\"n\">\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }
}
