import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetFormat

/// `warmset backtest`: what a warm set chosen before a deploy time would have been worth after it.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Measure, from the logs, what each way of choosing the warm set would have been worth at a deploy.",
        discussion: """
            Examples:
              warmset backtest access.log access.log.1 access.log.2.gz
              warmset backtest access.log* --rules rules.yaml --at 2026-11-27T09:00:00Z --at 2026-11-28T09:00:00Z --window 10m
              warmset backtest access.log* --strategy frequency,recent:30m,recent:2h,season:1d --top 500,2000 --history 24h
              warmset backtest access.log* --output-format tsv > backtest.tsv
              warmset backtest access.log* --at 2026-11-27T09:00:00Z --report backtest.html

            The requests logged at or before the deploy time T choose a warm set of N keys, by each strategy: \
            frequency (requests per key over all history, or the last --history), recent:H (decayed with \
            half-life H, as analyze --half-life), season:P (the same window of each earlier period P, at T−P, \
            T−2P, …, weighted 1/k). The counted requests logged in (T, T+window] then measure it: hit share \
            (the share whose key was warm), warm misses (misses of a cache started from the warm set that keeps \
            every key after its first miss), cold misses (the same cache started empty), the oracle's hit share \
            (the window's own top N) and time to fill (how long after T a cold cache's keys cover as many \
            requests as the warm set). * marks the best strategy at each N. Keys, format and filters are \
            analyze's, read once; requests are placed by their log time, so files a few seconds out of order \
            are fine. Without --at, T is the newest log time minus --window. Counting is exact; with \
            --sketch-memory (and --at) the history is counted in bounded memory and each window exactly. --report also writes an HTML page: hit share \
            against N per strategy (the oracle dashed), and misses per minute after T of a cold cache and of \
            each strategy's warm start at the largest N. Progress (on a terminal) and notes go to stderr, never \
            to stdout; -q leaves only errors there.

            Exit status: 0 success; 1 the logs cannot answer (unreadable, mostly malformed, --at outside them, \
            no request in a window) or the report cannot be written; 64 usage error (also a format with no $time_local or $time_iso8601).
            """)

    @OptionGroup(title: "Input") var input: InputOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "Keys") var keys: KeyOptions

    @Option(help: ArgumentHelp(
        "The deploy time T, ISO 8601 (2026-11-27T09:00:00Z). Repeatable: then the mean and the worst are shown too. (default: the newest log time minus --window)",
        valueName: "time"))
    var at: [String] = []

    @Option(help: ArgumentHelp("How long after T the traffic is measured, e.g. 10m, 1h.", valueName: "duration"))
    var window: String = "10m"

    @Option(help: ArgumentHelp("Warm-set sizes N, comma-separated.", valueName: "list"))
    var top: String = "1000,5000,20000"

    @Option(help: ArgumentHelp(
        "Strategies, comma-separated: frequency, recent:HALF-LIFE, season:PERIOD (a period of at least --window).",
        valueName: "list"))
    var strategy: String = "frequency,recent:1h,season:1d"

    @Option(help: ArgumentHelp("frequency counts only the requests of this long before T, e.g. 24h. (default: all)", valueName: "duration"))
    var history: String?

    @Flag(help: "Count the history exactly: every counted request is kept (12 bytes each, plus the keys). The default.")
    var exact = false

    @Option(help: ArgumentHelp(
        "Count the history before each --at in sketches of this much memory in all (e.g. 64MiB), the windows exactly: memory no longer grows with the requests; the figures are exact for the keys chosen and each score's error bound is shown. Needs --at.",
        valueName: "size"))
    var sketchMemory: String?

    @Option(help: ArgumentHelp("table (for people), tsv or json (for scripts).", valueName: "format"))
    var outputFormat: BacktestFormatArgument = .table

    @Option(help: ArgumentHelp("Fail when more lines than this share do not match the format, e.g. 5% or 0.05.", valueName: "share"))
    var maxMalformed: String = "5%"

    @Option(help: ArgumentHelp(
        "Also write a self-contained HTML report (hit share against N per strategy, misses per minute after T, the rows); written whole or not at all.",
        valueName: "file.html"))
    var report: String?

    @Flag(name: .shortAndLong, help: "Print no progress and no notes; errors still go to stderr.")
    var quiet = false

    func validate() throws {
        if exact && sketchMemory != nil { throw ValidationError("give either --exact or --sketch-memory, not both") }
        do {
            _ = try Backtest.compile(try makeBacktestConfiguration())
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let configuration = try makeBacktestConfiguration()
        if let notice = configuration.analysis.standardInputNotice(stdinIsTerminal: Terminal.standardInputIsTerminal) { Terminal.error(notice) }
        // analyze's progress bar, on a terminal only: stdout (tsv, json) never carries it.
        let bar = Terminal.standardErrorIsTerminal && !quiet ? ProgressBar() : nil
        let result: BacktestResult
        do {
            result = try Backtest.run(configuration, progress: bar.map { bar in { bar.update($0) } })
        } catch {
            bar?.finish()
            Terminal.error("\(error)")
            throw ExitCode.failure
        }
        bar?.finish()
        if !quiet { printNotes(result) }
        if let report {
            do {
                try BacktestReport.write(result, to: report)
            } catch {
                // As analyze's --report: the run ends here, before anything reaches stdout.
                Terminal.error("--report \(error.description)")
                throw ExitCode.failure
            }
        }
        FileHandle.standardOutput.write(Data(result.rendered(outputFormat.format).utf8))
    }

    /// The notes of a run that succeeded, on stderr: options that cannot apply, lines skipped.
    private func printNotes(_ result: BacktestResult) {
        for note in result.notes { Terminal.error("note: \(note)") }
        if result.linesMalformed > 0 {
            let first = result.malformedSamples.first.map { " (first: \($0))" } ?? ""
            Terminal.error("note: \(result.linesMalformed) of \(result.linesRead) lines do not match the format and were skipped\(first)")
        }
        if result.requestsUntimed > 0 {
            Terminal.error("note: \(result.requestsUntimed) counted requests had no readable time and were left out")
        }
    }

    /// The library configuration the options describe.
    /// - Throws: `ValidationError` for an option that does not read, `ConfigurationError` from the rules file.
    func makeBacktestConfiguration() throws -> BacktestConfiguration {
        var c = BacktestConfiguration()
        c.analysis = try makeConfiguration()
        guard let share = Share.parse(maxMalformed) else { throw ValidationError("--max-malformed '\(maxMalformed)': use a share like 5% or 0.05") }
        c.analysis.maxMalformedFraction = share
        c.at = try at.map(StrategyArgument.deployTime)
        c.windowSeconds = try StrategyArgument.window(window)
        var sizes: [Int] = []
        for part in top.split(separator: ",") {
            guard let n = Int(String(part).trimmed(" ")), n >= 1 else { throw ValidationError("--top '\(top)': use sizes of at least 1, e.g. 1000,5000,20000") }
            if !sizes.contains(n) { sizes.append(n) }
        }
        c.tops = sizes
        c.strategies = try StrategyArgument.parseList(strategy, history: try StrategyArgument.history(history))
        c.sketchMemoryBytes = try sketchMemory.map(CountingOptions.sketchMemoryBytes)
        return c
    }
}

/// `--output-format` of backtest.
enum BacktestFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case table, tsv, json

    var format: BacktestOutputFormat {
        switch self {
        case .table: return .table
        case .tsv: return .tsv
        case .json: return .json
        }
    }
}

extension BacktestCommand: AnalysisOptionGroups {
    // backtest counts exactly, by request, and chooses by strategy: analyze's counting, weight
    // and selection groups are not offered, and these are their defaults.
    var counting: CountingOptions {
        var counting = CountingOptions()
        counting.exact = true
        counting.sketchMemory = nil
        counting.epsilon = nil
        counting.delta = nil
        return counting
    }

    var selection: SelectionOptions {
        var selection = SelectionOptions()
        selection.coverage = nil
        selection.budget = nil
        selection.minCount = nil
        return selection
    }

    var weights: WeightOptions {
        var weights = WeightOptions()
        weights.weight = .requests
        weights.halfLife = nil
        return weights
    }

    func applyCommandOptions(to c: inout AnalysisConfiguration) {}
}
