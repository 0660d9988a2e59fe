import ArgumentParser
import Foundation
import WarmsetEmit
import WarmsetHTTP
import WarmsetMemcached
import WarmsetRedis
import WarmsetWarm

/// The cache a warm run fills: `--redis`, `--memcached` or `--http` (`--warm-…` on analyze).
enum WarmTarget {
    case redis(String)
    case memcached(String)
    case http(String)

    /// The Redis URL, if the cache is Redis.
    var redisURL: String? {
        if case .redis(let url) = self { return url }
        return nil
    }

    /// The option that named it, for messages.
    var option: String {
        switch self {
        case .redis: return "--redis"
        case .memcached: return "--memcached"
        case .http: return "--http"
        }
    }

    /// The warmer the options describe for this cache.
    /// - Throws: a usage error for an option value the cache cannot use.
    func warmer(options: WarmOptions, memcached: MemcachedOptions, http: HTTPWarmOptions) throws -> any CacheWarmer {
        switch self {
        case .redis(let url):
            return RedisWarmer(try options.settings(redis: url), userAgentVersion: Warmset.version)
        case .memcached(let servers):
            return MemcachedWarmer(try memcached.settings(servers: servers, options: options), userAgentVersion: Warmset.version)
        case .http(let baseURL):
            return HTTPWarmer(try http.settings(baseURL: baseURL, options: options), userAgentVersion: Warmset.version)
        }
    }
}

/// The warm options shared by `warmset warm` and `warmset analyze --warm-redis` (and
/// `--warm-memcached`, `--warm-http`): where values come from, how they are written, how fast,
/// and when to give up.
struct WarmOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Fetch each value from this HTTP URL template: {key}, {path} (the key's request path) or {1}, {2}… (the rule's captures). The 2xx body is the value.",
        valueName: "template"))
    var origin: String?

    @Option(help: ArgumentHelp(
        "Copy each value from another cache of the same kind: a Redis URL (strings by MGET there and MSETNX here, other types by DUMP and RESTORE, keeping each key's remaining TTL unless --ttl is given) or memcached://host:port[,host:port…] (get there, add here; needs --ttl or --no-ttl).",
        valueName: "url"))
    var copyFrom: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("A request header 'Name: value' for the origin (or, with --http, for the warm requests). Repeatable.", valueName: "header"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("TTL of written keys in seconds (required with --origin unless --no-ttl).", valueName: "seconds"))
    var ttl: Int?

    @Flag(help: "Written keys never expire (with --copy-from: drop the source's TTL).")
    var noTtl = false

    @Option(help: ArgumentHelp("Spread TTLs by up to ± this share, chosen per key from a stable hash so reruns agree, e.g. 10%.", valueName: "share"))
    var ttlJitter: String = "0%"

    @Flag(help: "Write keys even if present (Redis: SET and MSET without NX, RESTORE REPLACE; memcached: set instead of add) instead of skipping them.")
    var overwrite = false

    @Flag(help: "Check which keys are missing and report what would be fetched and written; fetch and write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Connections (worker threads) per Redis master or memcached node.", valueName: "n"))
    var connections: Int = 4

    @Option(help: ArgumentHelp("Origin requests (with --http: warm requests) in flight at most.", valueName: "n"))
    var concurrency: Int = 16

    @Option(help: ArgumentHelp("Origin requests (with --http: warm requests) per second at most, e.g. 500/s (one limit for the whole run).", valueName: "n/s"))
    var rate: String?

    @Option(help: ArgumentHelp("Keys per pipeline.", valueName: "n"))
    var batch: Int = 256

    @Option(help: ArgumentHelp("Stop the run (exit 1) when more than this many keys failed: a count, a share such as 5%, or none.", valueName: "n|p%"))
    var maxFailures: String = "none"

    @Flag(help: "Treat the target as a Redis Cluster (detected from INFO otherwise).")
    var cluster = false

    @Option(help: ArgumentHelp("Seconds to connect (cache and origin).", valueName: "seconds"))
    var connectTimeout: Double = 5

    @Option(help: ArgumentHelp(
        "Redis: how long to keep reconnecting to a server that went away mid-run (a restart, a Sentinel failover), and to wait while it answers LOADING, before its keys fail, e.g. 30s, 2m, 0 (no reconnect). The first connect never waits. (default: 30s)",
        valueName: "duration"))
    var reconnectFor: String?

    @Option(help: ArgumentHelp("Seconds to wait for a cache reply or a whole HTTP response.", valueName: "seconds"))
    var timeout: Double = 30

    @Option(help: ArgumentHelp(
        "Trust the CA certificates of this PEM file instead of the system's roots, for every TLS connection of the run: rediss:// (--redis, --copy-from), an https:// --origin and an https:// --http URL, e.g. --tls-ca ca.pem for rediss://cache:6380 or --origin https://api.internal/p/{1}. The server's name (the URL's host) is always checked.",
        valueName: "file"))
    var tlsCa: String?

    @Option(help: ArgumentHelp("rediss:// only: the client certificate (PEM) for a server that requires one (with --tls-key).", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("rediss:// only: the private key (PEM) of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Flag(help: "rediss:// only, for tests: do not check the server's certificate or name (prints a warning every run).")
    var tlsInsecure = false

    /// `--tls-ca`, `--tls-cert`, `--tls-key` and `--tls-insecure`.
    var tls: RedisTLSSettings { RedisTLSSettings(caFile: tlsCa, certificateFile: tlsCert, keyFile: tlsKey, insecure: tlsInsecure) }

    /// Whether any warm option was given (they need --warm-redis on analyze).
    var anyGiven: Bool {
        origin != nil || copyFrom != nil || !headers.isEmpty || ttl != nil || noTtl || overwrite || dryRun || rate != nil || cluster
            || tls.anyGiven || reconnectFor != nil
    }

    /// Cross-option checks for warming `target`; errors are usage errors (exit 64).
    func check(for target: WarmTarget) throws {
        if case .http = target {
            let given = [
                ("--origin", origin != nil), ("--copy-from", copyFrom != nil), ("--ttl", ttl != nil), ("--no-ttl", noTtl),
                ("--ttl-jitter", ttlJitter != "0%"), ("--overwrite", overwrite), ("--cluster", cluster), ("--dry-run", dryRun),
            ].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) do not apply to --http, which requests each key's path and stores nothing itself")
            }
        } else {
            try checkCacheOptions(for: target)
        }
        _ = try usage { () throws(WarmError) in try FailureLimit.parse(maxFailures) }
        _ = try parsedRate()
        _ = try parsedHeaders()
        guard connections >= 1 && connections <= 256 else { throw ValidationError("--connections must be between 1 and 256") }
        guard concurrency >= 1 && concurrency <= 4096 else { throw ValidationError("--concurrency must be between 1 and 4096") }
        guard batch >= 1 && batch <= 100_000 else { throw ValidationError("--batch must be between 1 and 100000") }
        guard connectTimeout > 0 && timeout > 0 else { throw ValidationError("--connect-timeout and --timeout must be positive") }
        try checkTLS(for: target)
        if reconnectFor != nil {
            guard case .redis = target else { throw ValidationError("--reconnect-for is for Redis (--redis or --warm-redis)") }
            _ = try reconnectSeconds()
        }
    }

    /// `--reconnect-for` in seconds (30 by default).
    func reconnectSeconds() throws -> Double {
        guard let reconnectFor else { return 30 }
        guard let seconds = Duration.seconds(reconnectFor), seconds <= 86_400 else {
            throw ValidationError("--reconnect-for '\(reconnectFor)': expected a duration such as 30s, 2m or 0, at most 1d")
        }
        return seconds
    }

    /// The TLS options need a `rediss://` URL (the target's or --copy-from's), or for `--tls-ca`
    /// alone an https:// `--origin` or `--http` URL, and files that load; `--tls-insecure` warns
    /// on every run.
    private func checkTLS(for target: WarmTarget) throws {
        guard tls.anyGiven else { return }
        let urls = [target.redisURL, copyFrom].compactMap { $0 }.filter { !$0.hasPrefix("memcached://") }
        let rediss = try urls.contains(where: { text in try usage { () throws(RedisError) in try RedisURL.parse(text) }.tls })
        var https = origin?.lowercased().hasPrefix("https://") ?? false
        if case .http(let base) = target, base.lowercased().hasPrefix("https://") { https = true }
        guard rediss || (https && tlsCert == nil && tlsKey == nil && !tlsInsecure) else {
            if https {
                throw ValidationError("--tls-cert, --tls-key and --tls-insecure are for a rediss:// URL (--redis or --copy-from); for an https:// origin or cache only --tls-ca applies")
            }
            throw ValidationError(
                "--tls-ca, --tls-cert, --tls-key and --tls-insecure are for a rediss:// URL (--redis or --copy-from), and --tls-ca also for an https:// --origin or --http; this run has none")
        }
        try usage { () throws(RedisError) in try tls.check() }
        if tlsInsecure {
            Terminal.error("warning: --tls-insecure: the Redis server's certificate and name are not checked; anyone on the path can read and change what is warmed (use it only in tests)")
        }
    }

    /// The checks for a cache that stores values (Redis, memcached).
    private func checkCacheOptions(for target: WarmTarget) throws {
        guard (origin != nil) != (copyFrom != nil) else {
            throw ValidationError("give a value source: --origin TEMPLATE or --copy-from URL (one of them)")
        }
        if let origin { _ = try usage { () throws(WarmError) in try OriginTemplate(origin) } }
        if let copyFrom {
            if case .memcached = target {
                _ = try usage { () throws(MemcachedError) in try MemcachedServer.parseList(copyFrom, option: "--copy-from") }
                if ttl == nil && !noTtl {
                    throw ValidationError("--ttl SECONDS or --no-ttl is required with --copy-from memcached://…: memcached does not tell an item's remaining TTL")
                }
            } else {
                _ = try usage { () throws(RedisError) in try RedisURL.parse(copyFrom) }
            }
        }
        if cluster, case .memcached = target { throw ValidationError("--cluster is for Redis; memcached pools are spread by --distribution") }
        if ttl != nil && noTtl { throw ValidationError("give --ttl or --no-ttl, not both") }
        if origin != nil && ttl == nil && !noTtl {
            throw ValidationError("--ttl SECONDS is required with --origin (or --no-ttl for keys that never expire)")
        }
        if let ttl, ttl < 1 { throw ValidationError("--ttl must be at least 1 second") }
        let jitter = try usage { () throws(WarmError) in try TTLPolicy.parseJitter(ttlJitter) }
        if jitter > 0 && ttl == nil {
            throw ValidationError("--ttl-jitter spreads --ttl SECONDS; give --ttl too (with --copy-from, without --ttl the source's remaining TTLs are kept as they are)")
        }
    }

    func parsedRate() throws -> Double? {
        guard let rate else { return nil }
        let number = rate.hasSuffix("/s") ? String(rate.dropLast(2)) : rate
        guard let value = Double(number), value > 0, value.isFinite else {
            throw ValidationError("--rate '\(rate)': expected requests per second, e.g. 500/s")
        }
        return value
    }

    func parsedHeaders() throws -> [(String, String)] {
        try headers.map { header in try Self.usageError { () throws(WarmError) in try HTTPFetcher.headerLine(header, option: "--header") } }
    }

    /// The library settings for warming `redisURL`.
    func settings(redis redisURL: String) throws -> RedisWarmSettings {
        var target = RedisConnectionSettings(url: try usage { () throws(RedisError) in try RedisURL.parse(redisURL) })
        target.connectTimeout = connectTimeout
        target.readTimeout = timeout
        target.tls = tls
        target.reconnectFor = try reconnectSeconds()
        let source: RedisWarmSettings.Source
        if let origin {
            source = .origin(try originSettings(origin))
        } else {
            var from = RedisConnectionSettings(url: try usage { () throws(RedisError) in try RedisURL.parse(copyFrom ?? "") })
            from.connectTimeout = connectTimeout
            from.readTimeout = timeout
            from.tls = tls
            from.reconnectFor = try reconnectSeconds()
            source = .copy(from)
        }
        var settings = RedisWarmSettings(target: target, source: source, ttl: try ttlPolicy())
        settings.overwrite = overwrite
        settings.dryRun = dryRun
        settings.connections = connections
        settings.batchSize = batch
        settings.rate = try parsedRate()
        settings.failureLimit = try usage { () throws(WarmError) in try FailureLimit.parse(maxFailures) }
        settings.cluster = cluster ? true : nil
        return settings
    }

    /// The origin client's settings for `template`.
    func originSettings(_ template: String) throws -> OriginSource.Settings {
        var o = OriginSource.Settings(template: try usage { () throws(WarmError) in try OriginTemplate(template) })
        o.headers = try parsedHeaders()
        o.concurrency = concurrency
        o.connectTimeout = connectTimeout
        o.requestTimeout = timeout
        o.trustRootsFile = tlsCa
        return o
    }

    /// `--ttl`, `--ttl-jitter` and `--no-ttl` as a policy; nil when none was given.
    func ttlPolicy() throws -> TTLPolicy? {
        let jitter = try usage { () throws(WarmError) in try TTLPolicy.parseJitter(ttlJitter) }
        return noTtl ? TTLPolicy.none : ttl.map { TTLPolicy(seconds: $0, jitter: jitter) }
    }

    private func usage<T, E: Error & CustomStringConvertible>(_ body: () throws(E) -> T) throws -> T {
        try Self.usageError(body)
    }

    /// Runs `body`, turning its error into a usage error (exit 64).
    static func usageError<T, E: Error & CustomStringConvertible>(_ body: () throws(E) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Runs a warm-up for a command and turns its report into output and an exit status.
enum WarmRun {
    /// Warms `target` with `plan`; prints progress (on a terminal) and the summary, writes the
    /// report, and returns the exit status (0, 1 or 2).
    /// - Parameter reportPath: where to write the JSON report (`--report` on warm,
    ///   `--warm-report` on analyze, whose `--report` is the HTML analysis report).
    static func run(
        plan: WarmPlan, target: WarmTarget, options: WarmOptions, memcached: MemcachedOptions, http: HTTPWarmOptions,
        reportPath: String?, quiet: Bool
    ) throws -> Int32 {
        let line = Terminal.standardErrorIsTerminal && !quiet ? WarmProgressLine() : nil
        var progress: (@Sendable (WarmProgress) -> Void)?
        if let line { progress = { line.update($0) } }
        let report: WarmReport
        do {
            report = try target.warmer(options: options, memcached: memcached, http: http).warm(plan, progress: progress)
        } catch {
            line?.finish()
            Terminal.error("\(error); nothing was warmed")
            return 1
        }
        line?.finish()
        if !quiet { WarmSummaryPrinter.print(report) }
        if let path = reportPath {
            do {
                try OutputFile.write(try report.json(), to: path)
            } catch {
                Terminal.error("report \(path): \(error)")
                return 1
            }
        }
        if let reason = report.stopReason { Terminal.error("stopped early: \(reason)") }
        return report.exitStatus
    }
}

extension WarmTarget {
    /// The cross-option checks of a warm target, made once for `warm` (`--redis`, `--memcached`,
    /// `--http`) and for `analyze` and `watch` (`--warm-redis`…, `optionPrefix` "--warm-"): the
    /// warm options fit the target, and the memcached and HTTP options are given only with their
    /// cache. nil: no target, so no warm option may be given. Errors are usage errors (exit 64).
    static func check(
        _ target: WarmTarget?, options: WarmOptions, memcached: MemcachedOptions, http: HTTPWarmOptions, optionPrefix: String = "--"
    ) throws {
        guard let target else {
            if options.anyGiven || memcached.anyGiven || http.anyGiven {
                throw ValidationError(
                    "the warm options (--origin, --copy-from, --ttl…) need \(optionPrefix)redis URL, \(optionPrefix)memcached SERVERS or \(optionPrefix)http URL")
            }
            return
        }
        try options.check(for: target)
        if case .memcached = target {} else if memcached.anyGiven {
            throw ValidationError("--distribution, --long-keys and --max-value-bytes need \(optionPrefix)memcached")
        }
        if case .http = target {} else if http.anyGiven {
            throw ValidationError("the HTTP options (--method, --follow-redirects, --http-node, --variant, --verify) need \(optionPrefix)http")
        }
        switch target {
        case .redis(let url):
            _ = try options.settings(redis: url)
        case .memcached(let servers):
            try memcached.check(servers: servers)
            _ = try memcached.settings(servers: servers, options: options)
        case .http(let baseURL):
            _ = try http.settings(baseURL: baseURL, options: options)
        }
    }
}
