import Foundation
import WarmsetAnalysis

extension SummaryPrinter {
    /// The selection, the coverage curve and the weighting, as summary lines.
    static func selectionLines(_ s: AnalysisSummary) -> [String] {
        var lines: [String] = []
        let sketchInputs = s.inputs.compactMap(\.sketchRequests)
        if !sketchInputs.isEmpty {
            lines.append("  sketches    \(sketchInputs.count) sketch input\(sketchInputs.count == 1 ? "" : "s") merged in (\(Format.count(sketchInputs.reduce(0, +))) requests)")
        }
        let counting = s.counting
        if let weight = counting.weight, weight != "requests" || counting.halfLifeSeconds != nil {
            var text = "  weight      \(weight)"
            if let halfLife = counting.halfLifeSeconds { text += ", decayed with a half-life of \(halfLife) s (scores are as of the newest log time)" }
            if let total = s.weightCounted { text += "; total \(String(format: "%.6g", total))" }
            if let bound = counting.errorBoundWeight, counting.mode == "sketch" { text += ", scores at most \(String(format: "%.6g", bound)) too high" }
            lines.append(text)
        }
        if counting.recounted == true { lines.append("  recount     the candidates were counted exactly in a second pass (--recount)") }
        if let miss = counting.missBound, miss > 0, counting.mode == "sketch" {
            let unit = s.weightCounted != nil ? "weight" : "count"
            lines.append("  candidates  \(Format.count(counting.candidates ?? 0)) tracked; any key not tracked has a true \(unit) of at most \(String(format: "%.6g", miss))")
        }
        guard let selection = s.selection else { return lines }
        lines.append("  coverage    " + selection.coverageText(keysKnown: s.keysKnown))
        if selection.fromEstimates {
            lines.append("              (from sketch estimates: the true share lies in the range; rows stop at the \(Format.count(s.counting.candidates ?? 0)) keys tracked; raise --top to track more)")
        }
        var chosen = "  selection   \(selection.rules); ended by \(selection.endedBy)"
        if selection.bytes > 0 { chosen += "; about \(Format.bytes(selection.bytes)) of objects" }
        lines.append(chosen)
        if let warning = selection.warning { lines.append("  warning: \(warning)") }
        return lines
    }
}
