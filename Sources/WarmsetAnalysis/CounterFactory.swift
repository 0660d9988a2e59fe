import WarmsetSketch

/// Builds the counter a configuration asks for, with any sketch inputs merged in.
enum CounterFactory {
    /// The counter, and the sketch inputs merged into it.
    /// - Throws: `ConfigurationError` when sketch inputs do not fit the configuration,
    ///   `SketchError` when they do not fit each other.
    /// - Parameter withLogs: log inputs will be counted into the same counter.
    static func make(
        _ c: AnalysisConfiguration, sketches: [(path: String, snapshot: SketchSnapshot)], withLogs: Bool = false
    ) throws -> KeyCounting {
        if c.exact {
            guard sketches.isEmpty else {
                throw ConfigurationError("\(sketches[0].path) is a sketch, and sketches cannot be counted exactly; drop --exact")
            }
            return .exact(ExactCounter(seed: c.sketch.seed, weighted: c.isWeighted, halfLifeSeconds: c.halfLifeSeconds))
        }
        let fresh: KeyCounting
        if let (path, first) = sketches.first {
            // Sketch inputs set the shape, unless the command line gave one that differs.
            let wanted = KeyCounting.empty(like: first, capacity: 2 * c.top)
            let settings = describe(c)
            if first.weight != c.weight || first.halfLifeSeconds != (c.halfLifeSeconds ?? 0) {
                throw ConfigurationError(
                    "\(path) was counted with --weight \(first.weight)\(first.halfLifeSeconds > 0 ? " --half-life \(first.halfLifeSeconds)s" : ""), but this run asks for \(settings); give the same --weight and --half-life as when it was made")
            }
            if c.sketchSizeGiven && (first.parameters.depth != c.sketch.depth || first.parameters.widthLog2 != c.sketch.widthLog2) {
                throw ConfigurationError(
                    "\(path) is a \(first.parameters.depth)×\(first.parameters.width) sketch, but --sketch-memory/--epsilon asks for \(c.sketch.depth)×\(c.sketch.width); drop them to use the sketch's shape")
            }
            if withLogs && first.conservative != c.conservativeUpdate {
                throw ConfigurationError(
                    "\(path) was counted with --update \(first.conservative ? "conservative" : "plain"), and the logs given with it would be counted into it with --update \(c.conservativeUpdate ? "conservative" : "plain"); give --update \(first.conservative ? "conservative" : "plain")")
            }
            fresh = wanted
        } else if c.isWeighted {
            fresh = .weightedSketch(WeightedSketchCounter(
                parameters: c.sketchSizeGiven ? c.sketch : c.sketch.halvedForWideCells, top: c.top,
                conservative: c.conservativeUpdate, weight: c.weight, halfLifeSeconds: c.halfLifeSeconds))
        } else {
            fresh = .sketch(SketchCounter(parameters: c.sketch, top: c.top, conservative: c.conservativeUpdate))
        }
        for (path, snapshot) in sketches { try fresh.merge(snapshot, name: path) }
        return fresh
    }

    static func describe(_ c: AnalysisConfiguration) -> String {
        "--weight \(c.weight)" + (c.halfLifeSeconds.map { " --half-life \($0)s" } ?? "")
    }
}
