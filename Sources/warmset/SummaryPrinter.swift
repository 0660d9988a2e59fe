import Foundation
import WarmsetAnalysis
import WarmsetKeys

/// The human summary on stderr.
enum SummaryPrinter {
    static func print(_ s: AnalysisSummary, output: String, written: Bool) {
        var lines: [String] = []
        let compressed = s.inputs.reduce(Int64(0)) { $0 + $1.compressedBytes }
        let decoded = s.inputs.reduce(Int64(0)) { $0 + $1.bytes }
        let gzip = s.inputs.contains { $0.gzip }
        let inputs = s.inputs.count == 1 ? "1 input" : "\(s.inputs.count) inputs"
        let size = gzip ? "\(Format.bytes(compressed)) → \(Format.bytes(decoded))" : Format.bytes(decoded)
        lines.append(
            "warmset: read \(Format.count(s.linesRead)) lines from \(inputs) (\(size)) in \(Format.seconds(s.elapsedSeconds)), "
                + String(format: "%.1f MB/s, %@ lines/s", s.megabytesPerSecond, Format.count(Int(s.linesPerSecond))))
        lines.append("  parsed      \(Format.count(s.linesParsed))")
        lines.append("  malformed   \(Format.count(s.linesMalformed))")
        for sample in s.malformedSamples { lines.append("              \(sample)") }
        let filteredTotal = s.filtered.values.reduce(0, +)
        lines.append("  filtered    \(Format.count(filteredTotal))")
        for reason in RequestFilter.Reason.allCases {
            if let n = s.filtered[reason.rawValue] {
                lines.append("              \(Format.count(n).padding(toLength: 10, withPad: " ", startingAt: 0)) \(reason.explanation)")
            }
        }
        let distinct = s.distinctKeys.map { s.counting.mode == "exact" ? Format.count(Int($0)) : "~" + Format.count(Int($0.rounded())) }
            ?? "more than the sketch can estimate"
        lines.append("  counted     \(Format.count(s.requestsCounted)) requests, \(distinct) distinct keys")
        if s.counting.mode == "exact" {
            lines.append("  counting    exact (\(Format.bytes(Int64(s.counting.memoryBytes))))")
        } else if s.counting.recounted == true {
            lines.append(
                "  counting    sketch \(s.counting.depth ?? 0)×\(Format.count(s.counting.width ?? 0)) with candidates (\(Format.bytes(Int64(s.counting.memoryBytes)))), then the candidates recounted exactly: the counts shown are exact")
        } else {
            lines.append(
                "  counting    sketch \(s.counting.depth ?? 0)×\(Format.count(s.counting.width ?? 0)) with candidates (\(Format.bytes(Int64(s.counting.memoryBytes)))); \(s.weightCounted == nil ? "counts are at most \(Format.count(s.counting.errorBound)) too high (ε·N)" : "scores are at most ε·N too high (below)")")
        }
        let destination = output == "-" ? "stdout" : output
        if written {
            lines.append(
                "  emitted     \(Format.count(s.keysEmitted)) keys to \(destination), covering \(Format.percent(s.coverageOfEmitted * 100)) of counted requests")
        } else {
            lines.append("  emitted     nothing (see below)")
        }
        lines.append(contentsOf: selectionLines(s))
        lines.append("  memory      peak RSS \(Format.bytes(Int64(s.peakRSSBytes)))")
        for note in s.notes { lines.append("  note: \(note)") }
        if s.partial { lines.append("  PARTIAL: some input could not be read; the counts miss part of the logs") }
        Terminal.write(lines.joined(separator: "\n") + "\n")
    }
}
