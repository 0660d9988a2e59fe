import WarmsetSketch

extension Analyzer {
    /// Runs the analysis, with `--recount`'s second pass when asked for.
    ///
    /// With `recount`, the first pass counts with the sketch as usual; the second reads the
    /// same files again and counts every candidate of the first exactly, so ranks and counts
    /// are exact for the candidates (the only error left is a key the sketch never made a
    /// candidate, whose true count is at most the summary's miss bound).
    /// - Throws: as `run`, and `ConfigurationError` when an input cannot be read twice.
    public static func analyze(
        _ configuration: AnalysisConfiguration, progress: ((AnalysisProgress) -> Void)? = nil
    ) throws -> AnalysisResult {
        guard configuration.recount else { return try run(configuration, progress: progress) }
        var first = configuration
        first.candidatesOnly = true
        first.report = nil
        let sketched = try run(first, progress: progress)
        if sketched.summary.inputs.contains(where: { $0.sketchRequests != nil }) {
            throw ConfigurationError("--recount needs the original logs, and sketch inputs cannot be read again as logs; drop --recount")
        }
        if !sketched.isTrustworthy(allowPartial: configuration.allowPartial) { return sketched }
        let counter = KeyCounting.exact(ExactCounter(
            only: sketched.ranked.map { (Array($0.key.utf8), Array($0.path.utf8)) }, seed: configuration.sketch.seed,
            weighted: configuration.isWeighted, halfLifeSeconds: configuration.halfLifeSeconds))
        var second = configuration
        second.saveSketch = nil
        var result = try run(second, progress: progress, counterOverride: counter)
        // The sketch pass describes the counting; the recount pass gives the exact counts.
        var counting = sketched.summary.counting
        counting.recounted = true
        counting.errorBound = 0
        counting.errorBoundWeight = counting.errorBoundWeight.map { _ in 0 }
        result.summary.counting = counting
        result.summary.distinctKeys = sketched.summary.distinctKeys
        result.summary.elapsedSeconds += sketched.summary.elapsedSeconds
        result.errorBound = nil
        result.sketch = sketched.sketch
        if var selection = result.summary.selection {
            // The curve beyond the candidates is unknown; within them it is now exact.
            selection.fromEstimates = false
            // Beyond the candidates the first pass's bounds still apply.
            let tracked = sketched.ranked.count
            let sketchCurve = sketched.summary.selection?.curve ?? []
            for i in selection.curve.indices {
                if selection.curve[i].top > tracked && (sketched.summary.counting.missBound ?? 0) > 0, i < sketchCurve.count {
                    selection.curve[i] = sketchCurve[i]
                } else {
                    selection.curve[i].lowerShare = nil
                }
            }
            result.summary.selection = selection
        }
        return result
    }
}
