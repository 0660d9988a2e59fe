import Foundation
import WarmsetAnalysis

/// stderr helpers.
enum Terminal {
    static var standardErrorIsTerminal: Bool { isatty(2) == 1 }
    static var standardInputIsTerminal: Bool { isatty(0) == 1 }

    /// Writes `text` to stderr as is.
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Foundation.write(2, $0.baseAddress, $0.count) }
    }

    /// One error sentence, prefixed with the program name.
    static func error(_ text: String) {
        write("warmset: \(text)\n")
    }
}

/// A one-line progress bar on stderr: bytes consumed of the total, rate, ETA.
final class ProgressBar {
    private var drawn = false

    func update(_ p: AnalysisProgress) {
        var line = "\r"
        let rate = p.elapsed > 0 ? Double(p.bytesConsumed) / p.elapsed : 0
        if let total = p.totalBytes, total > 0 {
            let fraction = min(1, Double(p.bytesConsumed) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += Format.percent(fraction * 100) + "  \(Format.bytes(p.bytesConsumed))/\(Format.bytes(total))"
            if rate > 0 {
                let eta = Double(total - p.bytesConsumed) / rate
                line += "  ETA \(Format.seconds(eta))"
            }
        } else {
            line += "\(Format.bytes(p.bytesConsumed)) read"
        }
        line += "  \(Format.bytes(Int64(rate)))/s  \(Format.count(p.lines)) lines\u{1B}[K"
        Terminal.write(line)
        drawn = true
    }

    func finish() {
        if drawn { Terminal.write("\r\u{1B}[K") }
    }
}
