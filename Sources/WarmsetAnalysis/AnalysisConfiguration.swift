import Foundation
import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch
import WarmsetSystem

/// Everything `warmset analyze` is told, as plain values (no command-line types).
public struct AnalysisConfiguration: Sendable {
    /// Input paths; `-` is stdin.
    public var inputs: [String] = ["-"]
    /// `combined`, `common`, `json` or an nginx `log_format` string.
    public var format = "combined"
    /// JSON keys for `--format json`.
    public var jsonFields = JSONFieldNames.defaults
    /// `--methods`, e.g. `GET,HEAD`.
    public var methods = "GET"
    /// `--status`, e.g. `2xx,304`.
    public var status = "2xx,304"
    /// `--since`, ISO 8601.
    public var since: String?
    /// `--until`, ISO 8601.
    public var until: String?
    /// `--host`.
    public var host: String?
    /// `--exclude` patterns.
    public var excludes: [String] = []
    /// `--rule` lines, `REGEX => TEMPLATE`, first match wins.
    public var rules: [String] = []
    /// `--keep-query`.
    public var keepQuery = "none"
    /// `--exact`: count every key in a hash map.
    public var exact = false
    /// Sketch shape (sketch mode).
    public var sketch = SketchParameters.default
    /// `--top N`.
    public var top = 1000
    /// The share of malformed lines above which the run fails.
    public var maxMalformedFraction = 0.05
    /// `--allow-partial`: deliver a result even when some input could not be read.
    public var allowPartial = false
    /// The longest line read; longer lines are counted as malformed.
    public var maxLineBytes = 64 * 1024
    /// The longest key emitted.
    public var maxKeyBytes = 1024
    /// The gzip inflater.
    public var inflater = Inflater.isal
    /// Decode each input on a second thread, overlapping inflate with parsing.
    public var decodeInBackground = true
    /// Parse lanes (`--threads`): with more than one, each input's chunks are dealt to that
    /// many lanes, each with its own parser and counter, parsed on as many threads and the
    /// counters merged (unweighted sketch or exact counting only).
    public var parseThreads = 1
    /// When the threads were not chosen (no `--threads`): if every input is gzip, run the
    /// lanes on one thread fewer than the machine's cores (at least one), the inflating
    /// thread parsing a lane's chunk itself whenever it is ahead. On 2 cores that keeps two
    /// threads busy instead of three (docs/benchmarks.md).
    public var spareCoreForInflate = false
    /// The cores this process may run on, read once (`Cores.available`).
    public static var activeCores: Int { Cores.available }

    /// Read gzip files ahead on a thread of their own (`InputOpener.open(readAhead:)`) only when
    /// a core is left for that thread besides the inflating thread and the parse threads. On 2
    /// cores the reading thread, woken for every 256 KiB of compressed input, preempted the
    /// inflating thread about 400 times a run (30 ms of a 0.5 s run, traced with
    /// `sched:sched_switch`) and the run took 1–2% longer than reading in the inflating thread
    /// (docs/benchmarks.md). Where a core is spare the reading thread preempts no busy one; that
    /// case is not measured (the project's machine has 2 cores).
    public func readsAhead(cores: Int = activeCores) -> Bool { decodeInBackground && cores > parseThreads + 1 }

    // Scaling out and choosing the warm set (issue 6).

    /// Conservative update (default) or plain update, whose merges are exact sums.
    public var conservativeUpdate = true
    /// True when the sketch's size was given (so sketch inputs must match it).
    public var sketchSizeGiven = false
    /// `--save-sketch FILE` (`-` is stdout).
    public var saveSketch: String?
    /// `--weight`: what a request weighs.
    public var weight = SketchWeight.requests
    /// `--half-life` in seconds: forward decay by log time.
    public var halfLifeSeconds: Int64?
    /// `--strategy`, `--at`, `--history`, `--window`: each request weighed by a backtest
    /// strategy for a deploy at a time; nil for plain counting (or `--half-life`).
    public var strategy: DeployStrategy?
    /// `--coverage`: the smallest top set covering this share of the counted weight.
    public var coverage: Double?
    /// `--budget`: keys in rank order until their mean body sizes fill this many bytes.
    public var budgetBytes: Int64?
    /// `--min-count`: only keys counted at least this much.
    public var minCount: Double?
    /// `--recount`: a second pass over the file inputs counts the candidates exactly.
    public var recount = false
    /// `--report FILE.html`.
    public var report: String?

    /// True when each ranked key carries the captures of the rule that keyed it
    /// (`RankedKey.captures`, recovered from its representative path at the end). A caller
    /// whose output shows no captures (a `keys`, `tsv` or `urls` manifest, no warmer with an
    /// origin template after it) turns this off: the captures are then empty, and the end of
    /// the run skips matching each chosen key's path against the rules again (1.2 ms for
    /// 10,000 keys, docs/benchmarks.md).
    public var keepsCaptures = true

    /// Internal: the chunk size of the parallel path's ring (tests use small ones).
    var parallelChunkSize = 1 << 19

    /// Internal: rank every candidate and skip selection (`--recount`'s first pass).
    var candidatesOnly = false

    /// True when keys are ranked by a weighted or decayed score (64-bit float counters).
    public var isWeighted: Bool { weight != .requests || halfLifeSeconds != nil || strategy != nil }

    /// The defaults.
    public init() {}
}

/// A backtest strategy used to choose the warm set for a deploy at a time (`analyze --strategy`):
/// each request counts `strategy.weight(ofRequestAt:deployAt:windowSeconds:)`, the backtest's
/// own scoring rule, so analyze at T chooses exactly the warm set the backtest measures at T.
public struct DeployStrategy: Sendable, Equatable, CustomStringConvertible {
    /// The strategy.
    public var strategy: BacktestStrategy
    /// The deploy time T (epoch seconds): requests logged after it are not counted.
    public var at: Int64
    /// season's window (at most its period); the other strategies ignore it.
    public var windowSeconds: Int64

    /// A strategy for a deploy at `at`.
    public init(_ strategy: BacktestStrategy, at: Int64, windowSeconds: Int64 = 600) {
        self.strategy = strategy
        self.at = at
        self.windowSeconds = windowSeconds
    }

    /// `season:1d (window 10m) at 2026-11-27T09:00:00Z`.
    public var description: String {
        var text = strategy.description
        if case .frequency(let history?) = strategy { text += " (history \(BacktestStrategy.duration(history)))" }
        if case .season = strategy { text += " (window \(BacktestStrategy.duration(windowSeconds)))" }
        return text + " at \(Backtest.iso8601(at))"
    }
}

/// A configuration that cannot work, in one sentence.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// One sentence naming the option and the fix.
    public let description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// The per-line machinery built from a configuration: compiled once, used for every line.
public final class CompiledAnalysis {
    /// The line parser.
    public let parser: AccessLogParser
    /// The request filter.
    public let filter: RequestFilter
    /// The key builder (normalization, excludes, rules).
    public let keys: KeyBuilder
    /// Notes for the summary about options that cannot apply to this format.
    public let notes: [String]

    /// Compiles `configuration`.
    /// - Throws: `ConfigurationError` for a bad format, rule, pattern, filter or time.
    public init(_ configuration: AnalysisConfiguration) throws(ConfigurationError) {
        do {
            parser = try AccessLogParser(
                format: configuration.format, jsonFields: configuration.jsonFields, maxLineBytes: configuration.maxLineBytes)
        } catch {
            throw ConfigurationError(error.description)
        }
        let fields = parser.fields
        var notes: [String] = []
        var filter = RequestFilter()
        do {
            try filter.setMethods(configuration.methods)
            try filter.setStatus(configuration.status)
        } catch {
            throw ConfigurationError(error.description)
        }
        if !fields.contains(.request) && !fields.contains(.method) {
            notes.append("the format has no method ($request or $request_method), so --methods is not applied")
        }
        if !fields.contains(.status) {
            notes.append("the format has no $status, so --status is not applied")
        }
        if let since = configuration.since {
            guard let value = LogTime.parseISO8601(since) else {
                throw ConfigurationError("--since '\(since)': use ISO 8601, e.g. 2026-11-27 or 2026-11-27T06:00:00+01:00")
            }
            filter.since = value
        }
        if let until = configuration.until {
            guard let value = LogTime.parseISO8601(until) else {
                throw ConfigurationError("--until '\(until)': use ISO 8601, e.g. 2026-11-28 or 2026-11-28T06:00:00Z")
            }
            filter.until = value
        }
        if let since = filter.since, let until = filter.until, until <= since {
            throw ConfigurationError("--until must be later than --since")
        }
        if (filter.since != nil || filter.until != nil) && !fields.contains(.timeLocal) && !fields.contains(.timeISO8601) {
            throw ConfigurationError("--since/--until need a time in the log, but the format has no $time_local or $time_iso8601")
        }
        if let host = configuration.host {
            guard fields.contains(.host) else {
                throw ConfigurationError("--host needs $host in the log format, and this format has none")
            }
            filter.host = Array(host.lowercased().utf8)
        }
        self.filter = filter
        do {
            let rules = try configuration.rules.map { (rule) throws(KeyError) in try KeyRule(rule) }
            let excludes = try configuration.excludes.map { (pattern) throws(KeyError) in
                try Pattern(pattern, wholeSubject: false, what: "--exclude")
            }
            let policy = try QueryPolicy(parsing: configuration.keepQuery)
            keys = KeyBuilder(
                rules: rules, excludes: excludes, queryPolicy: policy, maxKeyBytes: configuration.maxKeyBytes,
                maxTargetBytes: configuration.maxLineBytes)
        } catch {
            throw ConfigurationError(error.description)
        }
        guard configuration.top >= 1 else { throw ConfigurationError("--top must be at least 1") }
        switch configuration.weight {
        case .requests: break
        case .bytes:
            guard fields.contains(.bytes) else {
                throw ConfigurationError("--weight bytes needs $body_bytes_sent or $bytes_sent in the log format, and this format has neither")
            }
        case .time:
            guard fields.contains(.requestTime) else {
                throw ConfigurationError("--weight time needs $request_time in the log format, and this format has none; add it to nginx's log_format and to --format")
            }
        }
        if configuration.halfLifeSeconds != nil && !fields.contains(.timeLocal) && !fields.contains(.timeISO8601) {
            throw ConfigurationError("--half-life decays by log time, but the format has no $time_local or $time_iso8601")
        }
        if let strategy = configuration.strategy {
            try Self.check(strategy, configuration, timed: fields.contains(.timeLocal) || fields.contains(.timeISO8601))
        }
        if configuration.budgetBytes != nil && !fields.contains(.bytes) {
            throw ConfigurationError("--budget sizes keys by $body_bytes_sent, but the format has no $body_bytes_sent or $bytes_sent")
        }
        if configuration.recount {
            if configuration.inputs.contains("-") {
                throw ConfigurationError("--recount reads the logs twice, and stdin can be read only once; give the log files instead, or drop --recount")
            }
            if configuration.exact { throw ConfigurationError("--recount recounts a sketch's candidates; with --exact every count is already exact") }
        }
        if configuration.saveSketch != nil && configuration.exact {
            throw ConfigurationError("--save-sketch writes a count-min sketch; drop --exact")
        }
        self.notes = notes
    }

    /// The checks of `--strategy`: a log time to place requests by, a season window within its
    /// period, and no other weighing by time or sketch file that could not record it.
    private static func check(_ s: DeployStrategy, _ c: AnalysisConfiguration, timed: Bool) throws(ConfigurationError) {
        guard timed else {
            throw ConfigurationError("--strategy/--at place each request before or after the deploy time by its log time, but the format has no $time_local or $time_iso8601; add one to --format")
        }
        // The backtest's own checks of a strategy and its window (season's period ≥ window).
        var backtest = BacktestConfiguration()
        backtest.strategies = [s.strategy]
        backtest.windowSeconds = s.windowSeconds
        try backtest.validate()
        if let halfLife = c.halfLifeSeconds {
            throw ConfigurationError(
                "--half-life \(BacktestStrategy.duration(halfLife)) and --strategy both weigh requests by their time; give one (--strategy recent:\(BacktestStrategy.duration(halfLife)) --at T is --half-life \(BacktestStrategy.duration(halfLife)) as of T)")
        }
        if c.saveSketch != nil {
            throw ConfigurationError(
                "--save-sketch cannot record --strategy/--at/--history (a sketch file keeps only --weight and --half-life, and merged sketches need no deploy time); drop --save-sketch, or save with --half-life instead of --strategy recent:H")
        }
    }
}
