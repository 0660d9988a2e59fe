import Foundation
import WarmsetSketch

/// `warmset backtest`: what a warm set chosen from the requests before a deploy time T would
/// have been worth in the window after it, for each strategy and size (docs/backtest.md).
///
/// One pass reads the logs with analyze's own line steps (format, filters, rules and keys are
/// analyze's, from the same configuration) on analyze's parse lanes, each into a
/// `BacktestRecorder`, merged in input order; every figure is then computed from the recorded
/// requests for each T. Counting is exact, or in sketches (`--sketch-memory`, one lane).
public enum Backtest {
    /// How many malformed lines are quoted.
    static let malformedSampleLimit = 5

    /// Runs the backtest: compiles the configuration, reads the logs once, settles the deploy
    /// times and measures each, each a step of its own.
    /// - Throws: `ConfigurationError` for a configuration that cannot work (before any line is
    ///   read: usage), `InputError` for an input that cannot be opened, `BacktestError` when the
    ///   logs cannot answer (unreadable or mostly malformed, a deploy time outside them, no
    ///   request in a window).
    /// - Parameter progress: called about four times a second while the logs are read.
    public static func run(_ configuration: BacktestConfiguration, progress: ((AnalysisProgress) -> Void)? = nil) throws -> BacktestResult {
        let compiled = try compile(configuration)
        var result = BacktestResult()
        result.notes = compiled.notes
        result.windowSeconds = configuration.windowSeconds
        if let memory = configuration.sketchMemoryBytes {
            // One lane: the counters are weighted (and one per deploy time), so they are not split.
            let recorder = try read(configuration, compiled: compiled, lanes: 1, into: &result, progress: progress) { _ in
                BacktestSketchRecorder(configuration, sketchMemoryBytes: memory)
            }
            result.distinctKeys = Int((recorder.distinctEstimate ?? 0).rounded())
            result.counting = .sketch(memoryBytes: recorder.memoryBytes)
            let windows = Dictionary(recorder.deploys.map { ($0.at, $0.window.count) }, uniquingKeysWith: +)
            let times = try deployTimes(configuration, sink: recorder) { windows[$0, default: 0] > 0 }
            (result.rows, result.sketchBounds) = measure(configuration, at: times, sketch: recorder)
            if times.count > 1 { result.aggregates = aggregate(result.rows, configuration: configuration) }
            return result
        }
        let recorder = try read(
            configuration, compiled: compiled, lanes: nil, into: &result, progress: progress, recorders: { _ in BacktestRecorder() },
            merged: BacktestRecorder.merged)
        result.distinctKeys = recorder.keys.count
        let times = try deployTimes(configuration, sink: recorder) { at in
            let end = at + configuration.windowSeconds
            var found = false
            recorder.forEachRequest { time, _ in found = found || (time > at && time <= end) }
            return found
        }
        result.rows = measure(configuration, at: times, recorder: recorder)
        if times.count > 1 { result.aggregates = aggregate(result.rows, configuration: configuration) }
        return result
    }

    /// The per-line machinery, with the backtest's own checks.
    /// - Throws: `ConfigurationError`, also for a format without a log time.
    public static func compile(_ configuration: BacktestConfiguration) throws(ConfigurationError) -> CompiledAnalysis {
        try configuration.validate()
        let compiled = try CompiledAnalysis(configuration.analysis)
        let fields = compiled.parser.fields
        guard fields.contains(.timeLocal) || fields.contains(.timeISO8601) else {
            throw ConfigurationError(
                "backtest places each request before or after --at by its log time, but the format has no $time_local or $time_iso8601; add one to --format")
        }
        return compiled
    }

    /// Step 1: every log read once through the line steps into recorders: on the parse lanes
    /// analyze would use (`lanes` nil) with a recorder per lane, merged at the end, or on `lanes`.
    private static func read<Recorder: BacktestSink>(
        _ configuration: BacktestConfiguration, compiled: CompiledAnalysis, lanes laneCount: Int?, into result: inout BacktestResult,
        progress: ((AnalysisProgress) -> Void)?, recorders make: (_ lane: Int) -> Recorder,
        merged: ([Recorder]) -> Recorder = { $0[0] }
    ) throws -> Recorder {
        let analysis = configuration.analysis
        var summary = AnalysisSummary()
        let inputs = try AnalysisInputs.open(analysis, recordingFailuresIn: &summary)
        if let sketch = inputs.sketches.first {
            throw BacktestError("\(sketch.path) is a sketch file, which keeps no log times; give the logs it was made from")
        }
        // The recorders take every keyed request (as the weigher does for analyze); this
        // counter is the lanes' required one (split as analyze splits an exact counter) and
        // receives nothing.
        let unused = KeyCounting.exact(ExactCounter())
        let lanes = laneCount ?? LaneRun.laneCount(analysis, counter: unused, counterOverride: false, weighted: false)
        let recorders = (0..<lanes).map(make)
        result.parseLanes = lanes
        let run = try LaneRun(
            analysis, compiled: compiled, counter: unused, sinks: recorders, lanes: lanes,
            threads: LaneRun.parseThreads(lanes: lanes, analysis, allGzip: inputs.allGzip), sampleLimit: malformedSampleLimit)
        let reporter = AnalysisProgress.reporter(totalBytes: inputs.totalBytes, start: Analyzer.now(), progress)
        let outcome = run.run(inputs.logs, summary: &summary, progress: reporter)
        if summary.partial {
            throw BacktestError("the logs could not all be read: \(summary.errors.joined(separator: "; "))")
        }
        result.linesRead = outcome.linesRead
        result.linesMalformed = outcome.malformed
        result.malformedSamples = outcome.samples
        if outcome.linesRead > 0 && Double(outcome.malformed) / Double(outcome.linesRead) > analysis.maxMalformedFraction {
            let first = outcome.samples.first.map { " (first: \($0))" } ?? ""
            throw BacktestError(
                "\(outcome.malformed) of \(outcome.linesRead) lines do not match the format '\(analysis.format)'\(first); check --format")
        }
        let recorder = merged(recorders)
        result.requestsTimed = recorder.count
        result.requestsUntimed = recorder.untimed
        guard recorder.count > 0 else {
            throw BacktestError("no request in the logs was counted with a readable time, so there is nothing to backtest; check --format and the filters")
        }
        result.oldest = recorder.oldest
        result.newest = recorder.newest
        return recorder
    }

    /// Step 2: the deploy times, each checked against the logs: `--at`, or the newest log time
    /// minus the window.
    /// - Throws: `BacktestError` for a time outside the logs or a window with no request.
    /// - Parameter windowHasRequests: true when a counted request was logged in (T, T+window].
    static func deployTimes(
        _ configuration: BacktestConfiguration, sink recorder: some BacktestSink, windowHasRequests: (Int64) -> Bool
    ) throws -> [Int64] {
        let window = configuration.windowSeconds
        let range = "\(iso8601(recorder.oldest)) to \(iso8601(recorder.newest))"
        guard !configuration.at.isEmpty else {
            let at = recorder.newest - window
            guard at >= recorder.oldest else {
                throw BacktestError(
                    "the logs span \(BacktestStrategy.duration(recorder.newest - recorder.oldest)) (\(range)), not more than --window \(BacktestStrategy.duration(window)), so nothing is left before the window to choose a warm set from; give a shorter --window")
            }
            return [at]
        }
        for at in configuration.at {
            guard at >= recorder.oldest && at < recorder.newest else {
                throw BacktestError("--at \(iso8601(at)) is outside the logs' time range (\(range)); give a time within it")
            }
            if !windowHasRequests(at) {
                throw BacktestError(
                    "no counted request was logged in the --window \(BacktestStrategy.duration(window)) after --at \(iso8601(at)); give another --at or a longer --window")
            }
        }
        return configuration.at
    }

    /// Step 3: a row per deploy time, strategy and size, the best strategy marked.
    static func measure(_ configuration: BacktestConfiguration, at times: [Int64], recorder: BacktestRecorder) -> [BacktestRow] {
        let tops = configuration.tops
        let largest = tops.max() ?? 0
        var rows: [BacktestRow] = []
        for at in times {
            let window = BacktestWindow(at: at, windowSeconds: configuration.windowSeconds, recorder: recorder, tops: tops)
            let first = rows.count
            for strategy in configuration.strategies {
                let scores = strategy.scores(at: at, windowSeconds: configuration.windowSeconds, recorder: recorder)
                let ranking = BacktestStrategy.ranking(scores, keys: recorder.keys, limit: largest)
                for n in tops { rows.append(window.row(strategy: strategy.description, top: n, warmSet: ranking.prefix(n))) }
            }
            markBest(&rows[first...], tops: tops)
        }
        return rows
    }

    /// Step 3 in sketch mode: each strategy's warm set from its counter, measured on the exact
    /// window; and each counter's error bounds.
    static func measure(
        _ configuration: BacktestConfiguration, at times: [Int64], sketch recorder: BacktestSketchRecorder
    ) -> (rows: [BacktestRow], bounds: [BacktestSketchBound]) {
        let tops = configuration.tops
        let largest = tops.max() ?? 0
        var rows: [BacktestRow] = []
        var bounds: [BacktestSketchBound] = []
        for deploy in recorder.deploys where times.contains(deploy.at) {
            let keys = deploy.window.keys
            // Each warm key numbered in the window's interner (a key not requested in the window
            // gets a number with no requests), so the window measures it as the exact mode does.
            let rankings: [[Int]] = deploy.counters.map { counter in
                counter.ranked(limit: largest).map { ranked in
                    var key = ranked.key
                    var path = ranked.path
                    return key.withUTF8 { k in path.withUTF8 { p in keys.id(of: UnsafeRawBufferPointer(k), path: UnsafeRawBufferPointer(p)) } }
                }
            }
            let window = BacktestWindow(at: deploy.at, windowSeconds: configuration.windowSeconds, recorder: deploy.window, tops: tops)
            let first = rows.count
            for (i, strategy) in configuration.strategies.enumerated() {
                for n in tops { rows.append(window.row(strategy: strategy.description, top: n, warmSet: rankings[i].prefix(n))) }
                let stats = deploy.counters[i].stats
                let parameters = deploy.counters[i].sketch.parameters
                bounds.append(BacktestSketchBound(
                    at: deploy.at, strategy: strategy.description, errorBound: stats.errorBoundWeight, scoreTotal: stats.weightTotal,
                    epsilon: parameters.epsilon, delta: parameters.delta, memoryBytes: stats.memoryBytes))
            }
            markBest(&rows[first...], tops: tops)
        }
        return (rows, bounds)
    }

    /// Marks, for each size, the row with the highest hit share (ties: fewer warm misses, then
    /// the first given).
    private static func markBest(_ rows: inout ArraySlice<BacktestRow>, tops: [Int]) {
        for n in Set(tops) {
            var best: Int?
            for i in rows.indices where rows[i].top == n {
                guard let b = best else {
                    best = i
                    continue
                }
                if rows[i].hitShare > rows[b].hitShare || (rows[i].hitShare == rows[b].hitShare && rows[i].warmMisses < rows[b].warmMisses) {
                    best = i
                }
            }
            if let best { rows[best].best = true }
        }
    }

    /// Step 4 (several deploy times): the mean and the worst of each strategy and size.
    static func aggregate(_ rows: [BacktestRow], configuration: BacktestConfiguration) -> [BacktestAggregate] {
        var out: [BacktestAggregate] = []
        for strategy in configuration.strategies.map(\.description) {
            for n in configuration.tops {
                let group = rows.filter { $0.strategy == strategy && $0.top == n }
                guard !group.isEmpty else { continue }
                let count = Double(group.count)
                out.append(BacktestAggregate(
                    strategy: strategy, top: n, meanHitShare: group.reduce(0) { $0 + $1.hitShare } / count,
                    worstHitShare: group.map(\.hitShare).min() ?? 0,
                    meanWarmMisses: Double(group.reduce(0) { $0 + $1.warmMisses }) / count,
                    worstWarmMisses: group.map(\.warmMisses).max() ?? 0,
                    meanOracleHitShare: group.reduce(0) { $0 + $1.oracleHitShare } / count, best: false))
            }
        }
        for n in Set(configuration.tops) {
            let indices = out.indices.filter { out[$0].top == n }
            if let best = indices.max(by: { out[$0].meanHitShare < out[$1].meanHitShare || (out[$0].meanHitShare == out[$1].meanHitShare && $0 > $1) }) {
                out[best].best = true
            }
        }
        return out
    }

    /// Epoch seconds as ISO 8601 in UTC, `2026-11-27T09:00:00Z`.
    public static func iso8601(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
