import ArgumentParser
import Foundation
import Logging
import WarmsetAnalysis
import WarmsetRedis
import WarmsetWarm
import WarmsetWatch

/// `warmset watch`: follow live logs and keep the cache warm on a schedule.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow live access logs and keep a cache warm on a schedule.",
        discussion: """
            Examples:
              warmset watch /var/log/nginx/access.log --every 5m --half-life 1h --top 2000 \\
                --warm-redis redis://cache:6379 --origin 'http://api/p/{1}' --rules rules.yaml --ttl 900 \\
                --state /var/lib/warmset/watch.state --metrics-listen 127.0.0.1:9464
              warmset watch access.log --once --state watch.state --warm-redis redis://cache:6379 --copy-from redis://old:6379

            The logs are followed like tail -F (rotation by rename or copy-and-truncate, a file removed and \
            created again); every new line is counted into the sketch (decayed with --half-life). Every \
            --every the current warm set is warmed: missing keys are written, and keys already present are \
            rewritten only when their remaining TTL is below --refresh-below of --ttl (checked with pipelined PTTL). \
            With --state the sketch and the log positions are checkpointed atomically every cycle and on exit, \
            and a restart goes on where it stopped.

            Signals: SIGTERM and SIGINT finish the cycle in flight, checkpoint and exit 0; SIGHUP reopens the logs.

            Exit status: 0 stopped by a signal (or --once with every key warmed or present); with --once, 2 some \
            keys failed, 1 the warm step could not run; 1 the logs or the state cannot be opened; 64 usage error.
            """)

    @OptionGroup(title: "Input") var input: InputOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "Keys") var keys: KeyOptions
    @OptionGroup(title: "Counting") var counting: CountingOptions
    @OptionGroup(title: "Choosing the warm set") var selection: SelectionOptions
    @OptionGroup(title: "Weights") var weights: WeightOptions

    // Of the Output and Sketch-file groups of analyze, watch takes only these two: it writes no
    // manifest, summary, sketch or report file (--state and --metrics-listen instead).
    @Option(help: ArgumentHelp("How many keys the warm set holds.", valueName: "n"))
    var top: Int = 1000

    @Option(help: ArgumentHelp(
        "conservative (default: lower overestimates) or plain (linear: merged sketches equal the sketch of the concatenated logs bit for bit).",
        valueName: "rule"))
    var update: UpdateRule = .conservative

    /// `--top` and `--update`: of analyze's Output and Sketch-file groups, all watch takes.
    func applyCommandOptions(to c: inout AnalysisConfiguration) {
        c.top = top
        c.conservativeUpdate = update == .conservative
    }

    @Option(help: ArgumentHelp("Warm every this long, e.g. 5m, 30s, 1.5s.", valueName: "duration"))
    var every: String = "5m"

    @Option(help: ArgumentHelp("The Redis to keep warm (the options of warmset warm apply).", valueName: "url"))
    var warmRedis: String?
    @OptionGroup(title: "Warming") var warm: WarmOptions

    @Option(help: ArgumentHelp(
        "Rewrite a present key when its remaining TTL is below this share of --ttl, e.g. 20%. (Needs --ttl; 0% never refreshes.)",
        valueName: "share"))
    var refreshBelow: String = "20%"

    @Option(help: ArgumentHelp("Checkpoint the sketch and the log positions to this file every cycle and on exit; resume from it.", valueName: "file"))
    var state: String?

    @Flag(help: "Read what the logs hold now, run one cycle, checkpoint and exit (for cron and CI).")
    var once = false

    @Option(help: ArgumentHelp("Serve Prometheus metrics on host:port at /metrics, e.g. 127.0.0.1:9464.", valueName: "host:port"))
    var metricsListen: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error. (info: one line per cycle)", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        guard let warmRedis else { throw ValidationError("give a warm target: --warm-redis URL") }
        try warm.check(for: .redis(warmRedis))
        _ = try warm.settings(redis: warmRedis)
        if input.logs.isEmpty || input.logs.contains("-") {
            throw ValidationError("give the log files to follow (stdin cannot be followed; pipe it to warmset analyze)")
        }
        guard let seconds = Self.parseDuration(every), seconds >= 0.05 else {
            throw ValidationError("--every '\(every)': expected a duration such as 5m, 30s or 1.5s")
        }
        guard let share = Share.parse(refreshBelow), share >= 0, share <= 1 else {
            throw ValidationError("--refresh-below '\(refreshBelow)': expected a share such as 20% or 0.2")
        }
        try OutputOptions.checkTop(top)
        if counting.exact && state != nil {
            throw ValidationError("--state checkpoints a sketch, and --exact counts in a hash table; drop --exact")
        }
        if let metricsListen, Self.parseAddress(metricsListen) == nil {
            throw ValidationError("--metrics-listen '\(metricsListen)': expected host:port, e.g. 127.0.0.1:9464")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)': expected trace, debug, info, notice, warning, error or critical")
        }
        try validateAnalysis()
    }

    func run() throws {
        // Before any thread starts: the signals are taken by one thread with sigwait.
        let signals = WatchSignals()
        signals.install()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "warmset.watch")
        var configuration = try makeConfiguration()
        configuration.inputs = input.logs
        var settings = WatchSettings(interval: Self.parseDuration(every) ?? 300)
        settings.statePath = state
        settings.once = once
        let metrics = WatchMetrics()
        var server: MetricsServer?
        if let metricsListen, let (host, port) = Self.parseAddress(metricsListen) {
            do {
                server = try MetricsServer(host: host, port: port, metrics: metrics)
                logger.info("metrics on http://\(host):\(server?.port ?? port)/metrics")
            } catch {
                Terminal.error(error.description)
                throw ExitCode.failure
            }
        }
        defer { server?.shutdown() }
        var redis = try warm.settings(redis: warmRedis ?? "")
        if !warm.overwrite, let ttl = warm.ttl, let share = Share.parse(refreshBelow), share > 0 {
            redis.refreshBelowMilliseconds = Int64((Double(ttl) * 1000 * share).rounded())
        }
        let warmer = RedisWarmer(redis, userAgentVersion: Warmset.version)
        let outcome: Watcher.Outcome
        do {
            let watcher = try Watcher(
                paths: input.logs, configuration: configuration, settings: settings, warmer: warmer, signals: signals,
                metrics: metrics, logger: logger)
            outcome = try watcher.run()
        } catch {
            Terminal.error("\(error)")
            throw ExitCode.failure
        }
        if once {
            guard let report = outcome.lastReport else { throw ExitCode.failure }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }

    /// Seconds in `5m`, `30s`, `1.5s`, `250ms`, `1h`, or a bare number of seconds.
    static func parseDuration(_ text: String) -> Double? {
        let lower = text.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            let number = lower.dropLast(suffix.count)
            if suffix == "s" && number.hasSuffix("m") { continue }
            guard let value = Double(number), value > 0, value.isFinite else { return nil }
            return value * factor
        }
        guard let value = Double(lower), value > 0, value.isFinite else { return nil }
        return value
    }

    /// `host:port` (the host may be `[::1]`).
    static func parseAddress(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

extension Watch: AnalysisOptionGroups {}
