import WarmsetSketch

extension CompiledAnalysis {
    /// `ranked` with each key's rule captures (`$1`…) filled in, recovered by building the
    /// key of its representative path again: captures are not stored per key. The one place
    /// the analysis builds a key outside the per-line steps (`Analyzer`, `LiveAnalysis`).
    /// - Complexity: O(total path length) with rules; O(1) without.
    func withCaptures(_ ranked: [RankedKey]) -> [RankedKey] {
        guard !keys.rules.isEmpty else { return ranked }
        var ranked = ranked
        for i in ranked.indices {
            let path = Array(ranked[i].path.utf8)
            let outcome = path.withUnsafeBytes { keys.build(target: $0, hasLogEscapes: false) }
            if outcome == .key { ranked[i].captures = keys.lastCaptures() }
        }
        return ranked
    }
}
