import WarmsetSketch

extension CompiledAnalysis {
    /// `ranked` with each key's rule captures (`$1`…) filled in, recovered from its
    /// representative path (`KeyBuilder.recoverCaptures`): captures are not stored per key. The
    /// one place the analysis asks for them (`Analyzer`, `LiveAnalysis`).
    /// - Complexity: O(total path length) with rules; O(1) without.
    func withCaptures(_ ranked: [RankedKey]) -> [RankedKey] {
        var ranked = ranked
        keys.recoverCaptures(of: &ranked, path: \.path, captures: \.captures)
        return ranked
    }
}
