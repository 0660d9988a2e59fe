import WarmsetKeys
import WarmsetSketch

extension Analyzer {
    /// The spine's last step: the warm set chosen from the merged counter, and the summary.
    /// - Parameter summary: the summary so far (inputs, errors, notes).
    /// - Complexity: O(k log k) for the k keys tracked.
    static func result(
        of outcome: LaneRun.Outcome, weigher: RequestWeigher?, compiled: CompiledAnalysis, configuration: AnalysisConfiguration,
        summary: AnalysisSummary, start: Double
    ) -> AnalysisResult {
        var summary = summary
        let counter = outcome.counter
        let stats = counter.stats
        let selection = Selection.choose(from: counter.keyCounter, stats: stats, configuration: configuration)
        // Captures are not stored per key: the representative path gives them back.
        let ranked = configuration.candidatesOnly || !configuration.keepsCaptures ? selection.keys : compiled.withCaptures(selection.keys)
        summary.selection = selection.summary
        if let weigher { summary.notes += weigher.notes }
        let elapsed = now() - start
        summary.linesRead = outcome.linesRead
        summary.linesMalformed = outcome.malformed
        summary.linesParsed = outcome.linesRead - outcome.malformed
        summary.malformedSamples = outcome.samples
        for (i, reason) in RequestFilter.Reason.allCases.enumerated() where outcome.filtered[i] > 0 {
            summary.filtered[reason.rawValue] = outcome.filtered[i]
        }
        summary.requestsCounted = stats.total
        summary.weightCounted = stats.weighted ? stats.weightTotal : nil
        summary.distinctKeys = stats.distinctKeys
        summary.counting = AnalysisSummary.Counting(
            mode: stats.exact ? "exact" : "sketch",
            depth: stats.parameters?.depth,
            width: stats.parameters?.width,
            epsilon: stats.parameters?.epsilon,
            delta: stats.parameters?.delta,
            errorBound: stats.errorBound, memoryBytes: stats.memoryBytes,
            errorBoundWeight: stats.weighted ? stats.errorBoundWeight : nil, missBound: stats.exact ? nil : stats.missBound,
            candidates: stats.exact ? nil : stats.tracked, weight: configuration.weight.description,
            halfLifeSeconds: configuration.halfLifeSeconds, update: stats.exact ? nil : (configuration.conservativeUpdate ? "conservative" : "plain"))
        summary.keysEmitted = ranked.count
        let emittedSum = ranked.reduce(0.0) { $0 + $1.rankValue }
        summary.coverageOfEmitted = stats.weightTotal > 0 ? min(1, emittedSum / stats.weightTotal) : 0
        summary.elapsedSeconds = elapsed
        summary.megabytesPerSecond = elapsed > 0 ? Double(outcome.decodedTotal) / 1e6 / elapsed : 0
        summary.linesPerSecond = elapsed > 0 ? Double(outcome.linesRead) / elapsed : 0
        summary.peakRSSBytes = peakRSS()
        if outcome.linesRead > 0 && Double(outcome.malformed) / Double(outcome.linesRead) > configuration.maxMalformedFraction {
            summary.tooManyMalformed = true
        }
        var result = AnalysisResult(ranked: ranked, summary: summary, errorBound: stats.exact ? nil : stats.errorBound)
        if configuration.saveSketch != nil { result.sketch = counter.snapshot() }
        result.timeline = weigher.flatMap { configuration.report != nil ? $0.timeline : nil }
        return result
    }
}
