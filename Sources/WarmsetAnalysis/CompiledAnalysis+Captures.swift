import WarmsetModel
import WarmsetSketch

extension CompiledAnalysis {
    /// `ranked` with each key's rule captures (`$1`…) filled in, recovered from its
    /// representative path (`KeyBuilder.captures(ofPath:)`): captures are not stored per key.
    /// The one place the analysis asks for them (`Analyzer`, `LiveAnalysis`).
    /// - Complexity: one rule match per ranked key with rules; O(1) without.
    func withCaptures(_ ranked: [RankedKey]) -> [RankedKey] {
        guard !keys.rules.isEmpty else { return ranked }
        var ranked = ranked
        for i in ranked.indices {
            if let captures = keys.captures(ofPath: ranked[i].path) { ranked[i].captures = captures }
        }
        return ranked
    }
}
