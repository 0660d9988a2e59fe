import ArgumentParser
import Foundation
import Logging
import WarmsetAnalysis
import WarmsetMemcached
import WarmsetRedis
import WarmsetWarm
import WarmsetWatch

/// `warmset watch`: follow live logs and keep the cache warm on a schedule.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow live access logs and keep a cache warm on a schedule (or keep a manifest of the warm set up to date).",
        discussion: """
            Examples:
              warmset watch /var/log/nginx/access.log --every 5m --half-life 1h --top 2000 \\
                --warm-redis redis://cache:6379 --origin 'http://api/p/{1}' --rules rules.yaml --ttl 900 \\
                --state /var/lib/warmset/watch.state --metrics-listen 127.0.0.1:9464
              warmset watch access.log --once --state watch.state --warm-redis redis://cache:6379 --copy-from redis://old:6379
              warmset watch access.log --every 1m --warm-memcached cache1:11211,cache2:11211 --origin 'http://api/p/{1}' --ttl 300
              warmset watch access.log --every 10m --warm-http https://shop.example.com --rate 50/s
              warmset watch access.log --every 5m --top 500 -o /srv/prefetch/urls.txt --output-format urls --base-url https://shop.example.com

            The logs are followed like tail -F (rotation by rename or copy-and-truncate, a file removed and \
            created again); every new line is counted into the sketch (decayed with --half-life). Every \
            --every the current warm set is warmed into the one warm target: missing keys are written, and keys \
            already present are rewritten only when their remaining TTL is below --refresh-below of --ttl \
            (Redis: pipelined PTTL; memcached: pipelined mg KEY t, memcached 1.6 or newer). An HTTP cache cannot \
            tell a remaining TTL: --warm-http requests every key of the warm set every cycle. \
            With -o FILE each cycle first writes the warm set there, as warmset analyze -o writes it, through a \
            temporary file renamed into place (a reader never sees half a file); -o without a warm target only \
            writes the file. With --state the sketch and the log positions are checkpointed atomically every cycle \
            and on exit, and a restart goes on where it stopped.

            Signals: SIGTERM and SIGINT finish the cycle in flight, checkpoint and exit 0; SIGHUP reopens the logs.

            Exit status: 0 stopped by a signal (or --once with every key warmed or present); with --once, 2 some \
            keys failed, 1 the warm step could not run or the manifest could not be written; 1 the logs or the state \
            cannot be opened; 64 usage error.
            """)

    @OptionGroup(title: "Input") var followed: FollowInputOptions
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

    @Option(help: ArgumentHelp("The Redis to keep warm (the options of warmset warm --redis apply).", valueName: "url"))
    var warmRedis: String?
    @Option(help: ArgumentHelp(
        "The memcached pool to keep warm, host:port[,host:port…] (the options of warmset warm --memcached apply).", valueName: "servers"))
    var warmMemcached: String?
    @Option(help: ArgumentHelp(
        "Request every key's path under this URL every cycle, so that the caches behind it stay filled (the options of warmset warm --http apply).",
        valueName: "base-url"))
    var warmHttp: String?
    @OptionGroup(title: "Warming") var warm: WarmOptions
    @OptionGroup(title: "memcached (with --warm-memcached)") var memcachedOptions: MemcachedOptions
    @OptionGroup(title: "HTTP (with --warm-http)") var httpOptions: HTTPWarmOptions

    @Option(help: ArgumentHelp(
        "Rewrite a present key when its remaining TTL is below this share of --ttl, e.g. 20%. (Redis and memcached; needs --ttl; 0% never refreshes.) (default: 20%)",
        valueName: "share"))
    var refreshBelow: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(
        "Write the warm set to this file every cycle, as warmset analyze -o does (a temporary file renamed into place). Without a warm target, watch only writes it.",
        valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp(
        "With -o: keys (one per line), tsv (key<TAB>count), jsonl ({\"rank\",\"key\",\"count\",\"path\"}) or urls (--base-url + each key's path, for a CDN's prefetch list).",
        valueName: "format"))
    var outputFormat: OutputFormatArgument = .keys

    @Option(help: ArgumentHelp("With --output-format urls: the scheme and host (and port, path prefix) the paths are appended to, e.g. https://shop.example.com.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("Checkpoint the sketch and the log positions to this file every cycle and on exit; resume from it.", valueName: "file"))
    var state: String?

    @Flag(help: "Read what the logs hold now, run one cycle, checkpoint and exit (for cron and CI).")
    var once = false

    @Option(help: ArgumentHelp("Serve Prometheus metrics on host:port at /metrics, e.g. 127.0.0.1:9464.", valueName: "host:port"))
    var metricsListen: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error. (info: one line per cycle)", valueName: "level"))
    var logLevel: String = "info"

    /// The one cache to keep warm; nil for a watch that only writes `-o`.
    var warmTarget: WarmTarget? {
        get throws {
            let given = [warmRedis.map(WarmTarget.redis), warmMemcached.map(WarmTarget.memcached), warmHttp.map(WarmTarget.http)].compactMap { $0 }
            if given.count > 1 {
                throw ValidationError("give one warm target: --warm-redis URL, --warm-memcached SERVERS or --warm-http URL, not several (run one watch per cache)")
            }
            if given.isEmpty && output == nil {
                throw ValidationError("give a warm target: --warm-redis URL, --warm-memcached SERVERS or --warm-http URL (or -o FILE to only keep a manifest of the warm set)")
            }
            return given.first
        }
    }

    /// The kind of `warmTarget`, for the log line and the metrics.
    static func kind(_ target: WarmTarget?) -> String {
        switch target {
        case .redis: return "redis"
        case .memcached: return "memcached"
        case .http: return "http"
        case nil: return "none"
        }
    }

    func validate() throws {
        let target = try warmTarget
        try WarmTarget.check(target, options: warm, memcached: memcachedOptions, http: httpOptions, optionPrefix: "--warm-")
        if httpOptions.verify || httpOptions.verifySample != nil {
            throw ValidationError("--verify is for warmset warm --http: watch prints no warm summary to show the share of hits in")
        }
        if let refreshBelow {
            switch target {
            case .redis, .memcached: break
            case .http: throw ValidationError("--refresh-below needs a cache that tells a remaining TTL (--warm-redis, --warm-memcached); --warm-http requests every key every cycle")
            case nil: throw ValidationError("--refresh-below needs --warm-redis or --warm-memcached")
            }
            guard let share = Share.parse(refreshBelow), share >= 0, share <= 1 else {
                throw ValidationError("--refresh-below '\(refreshBelow)': expected a share such as 20% or 0.2")
            }
        }
        try checkOutput()
        if input.logs.isEmpty || input.logs.contains("-") {
            throw ValidationError("give the log files to follow (stdin cannot be followed; pipe it to warmset analyze)")
        }
        guard let seconds = Duration.seconds(every), seconds >= 0.05 else {
            throw ValidationError("--every '\(every)': expected a duration such as 5m, 30s or 1.5s")
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

    /// `-o`, `--output-format` and `--base-url`.
    func checkOutput() throws {
        if output == "-" {
            throw ValidationError("-o -: watch writes the warm set again every cycle; give a file, which is replaced atomically each time")
        }
        if output == nil && (outputFormat != .keys || baseURL != nil) {
            throw ValidationError("--output-format and --base-url are for -o FILE")
        }
        try OutputOptions.checkBaseURL(baseURL, format: outputFormat)
    }

    /// Where each cycle writes the warm set, if anywhere.
    var manifest: AnalysisDelivery.Manifest? {
        guard let output else { return nil }
        if let format = outputFormat.manifestFormat { return .manifest(format, to: output) }
        return .urls(baseURL: baseURL ?? "", to: output)
    }

    /// The warmer for `target`, with refresh-ahead where the cache tells a remaining TTL.
    func makeWarmer(_ target: WarmTarget) throws -> any CacheWarmer {
        // The share of --ttl below which a present key is rewritten; nil when it is off.
        var refreshSeconds: Double?
        if !warm.overwrite, let ttl = warm.ttl, let share = Share.parse(refreshBelow ?? "20%"), share > 0 {
            refreshSeconds = Double(ttl) * share
        }
        switch target {
        case .redis(let url):
            var redis = try warm.settings(redis: url)
            redis.refreshBelowMilliseconds = refreshSeconds.map { Int64(($0 * 1000).rounded()) }
            return RedisWarmer(redis, userAgentVersion: Warmset.version)
        case .memcached(let servers):
            var memcached = try memcachedOptions.settings(servers: servers, options: warm)
            memcached.refreshBelowSeconds = refreshSeconds
            return MemcachedWarmer(memcached, userAgentVersion: Warmset.version)
        case .http:
            return try target.warmer(options: warm, memcached: memcachedOptions, http: httpOptions)
        }
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
        let target = try warmTarget
        var settings = WatchSettings(interval: Duration.seconds(every) ?? 300)
        settings.statePath = state
        settings.once = once
        settings.manifest = manifest
        settings.targetKind = target.map { Self.kind($0) }
        let metrics = WatchMetrics(targetKind: Self.kind(target))
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
        let warmer = try target.map(makeWarmer)
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
            if outcome.manifestFailed { throw ExitCode.failure }
            guard warmer != nil else { return }
            guard let report = outcome.lastReport else { throw ExitCode.failure }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
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

extension Watch: AnalysisOptionGroups {
    var input: InputOptions { followed.asInputOptions }
}
