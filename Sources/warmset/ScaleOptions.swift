import ArgumentParser
import WarmsetAnalysis
import WarmsetSketch

/// Sketch files, the update rule and the second pass.
struct SketchFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Also write the sketch (counters and candidate keys) to this file, for `warmset merge` or a later `warmset analyze`; '-' is stdout (then the manifest goes only to --output FILE).",
        valueName: "file"))
    var saveSketch: String?

    @Option(help: ArgumentHelp(
        "conservative (default: lower overestimates) or plain (linear: merged sketches equal the sketch of the concatenated logs bit for bit).",
        valueName: "rule"))
    var update: UpdateRule = .conservative

    @Flag(help: "Read the log files a second time and count the sketch's candidates exactly (not for stdin or sketch inputs).")
    var recount = false

    @Option(help: ArgumentHelp("Write a self-contained HTML report (coverage curve, top keys, requests over time, filters, parameters).", valueName: "file.html"))
    var report: String?
}

/// `--update` values.
enum UpdateRule: String, ExpressibleByArgument, CaseIterable {
    case conservative, plain
}

/// What a request weighs and how fast it is forgotten.
struct WeightOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Rank by requests (default), bytes ($body_bytes_sent: what moves the most data) or time ($request_time: what costs the origin most).",
        valueName: "weight"))
    var weight: WeightArgument = .requests

    @Option(help: ArgumentHelp(
        "Decay by log time with this half-life (e.g. 2h, 30m, 1d): a request one half-life older counts half. Forward decay; sketches still merge.",
        valueName: "duration"))
    var halfLife: String?

    func validate() throws {
        if let halfLife {
            guard let seconds = Duration.parseSeconds(halfLife), seconds >= 1 else {
                throw ValidationError("--half-life '\(halfLife)': use a duration like 90s, 30m, 2h or 1d")
            }
            guard seconds <= 10 * 365 * 86_400 else { throw ValidationError("--half-life must be at most 10 years") }
        }
    }
}

/// `--weight` values.
enum WeightArgument: String, ExpressibleByArgument, CaseIterable {
    case requests, bytes, time

    var weight: SketchWeight {
        switch self {
        case .requests: return .requests
        case .bytes: return .bytes
        case .time: return .time
        }
    }
}

/// How many keys the warm set holds, besides --top.
struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The smallest top set whose counts cover this share of the counted requests (or weight), e.g. 0.9 or 90%; at most --top keys.",
        valueName: "share"))
    var coverage: String?

    @Option(help: ArgumentHelp(
        "Keys in rank order until their object sizes (mean $body_bytes_sent per key) fill this cache size, e.g. 512MiB; at most --top keys.",
        valueName: "size"))
    var budget: String?

    @Option(help: ArgumentHelp("Only keys counted at least this many times (or this weight).", valueName: "n"))
    var minCount: Double?

    func validate() throws {
        if let coverage {
            guard let share = Share.parse(coverage), share > 0 else {
                throw ValidationError("--coverage '\(coverage)': use a share like 0.9 or 90%")
            }
        }
        if let budget {
            guard let bytes = ByteSize.parse(budget), bytes > 0 else {
                throw ValidationError("--budget '\(budget)': use a size like 512MiB or 2GiB")
            }
        }
        if let minCount, !(minCount >= 0) { throw ValidationError("--min-count must be 0 or more") }
    }
}

/// Durations like `250ms`, `1.5s`, `90s`, `30m`, `2h`, `1d`, `1w`, or a bare number of seconds:
/// the one parser of `--half-life`, `--every` and `--reconnect-for`.
enum Duration {
    /// Seconds (0 or more, finite), or nil for text that is no duration.
    static func seconds(_ text: String) -> Double? {
        let lower = text.lowercased().trimmed(" ")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            let number = lower.dropLast(suffix.count)
            if suffix == "s" && number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value * factor < 1e12 else { return nil }
            return value * factor
        }
        guard let value = Double(lower), value >= 0, value < 1e12 else { return nil }
        return value
    }

    /// Whole seconds, rounded; nil for no duration or 0.
    static func parseSeconds(_ text: String) -> Int64? {
        guard let seconds = seconds(text), seconds > 0 else { return nil }
        return Int64(seconds.rounded())
    }
}

extension AnalysisConfiguration {
    /// Applies the issue-6 options.
    /// The Sketch-file group of `analyze`.
    mutating func apply(sketchFile: SketchFileOptions) {
        saveSketch = sketchFile.saveSketch
        conservativeUpdate = sketchFile.update == .conservative
        recount = sketchFile.recount
        report = sketchFile.report
    }

    /// The Weights, Selection and Counting groups, shared by `analyze` and `watch`.
    mutating func apply(weight: WeightOptions, selection: SelectionOptions, counting: CountingOptions) {
        self.weight = weight.weight.weight
        halfLifeSeconds = weight.halfLife.flatMap(Duration.parseSeconds)
        coverage = selection.coverage.flatMap(Share.parse)
        budgetBytes = selection.budget.flatMap(ByteSize.parse).map(Int64.init)
        minCount = selection.minCount
        sketchSizeGiven = counting.sketchMemory != nil || counting.epsilon != nil || counting.delta != nil
        if isWeighted, let memory = counting.sketchMemory, let bytes = ByteSize.parse(memory) {
            // Weighted counters are 8 bytes: the same memory holds half as many.
            sketch = .forMemory(bytes: bytes, cellBytes: 8)
        }
    }
}
