import ArgumentParser
import WarmsetMemcached
import WarmsetWarm

/// The options only a memcached warm-up has (`warmset warm --memcached`,
/// `warmset analyze --warm-memcached`).
struct MemcachedOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How keys are spread over the nodes, as the application's client does it: ketama (libketama-compatible consistent hashing, MD5) or modula (hash % nodes, in the order given). (default: ketama)",
        valueName: "ketama|modula"))
    var distribution: MemcachedDistributionArgument?

    @Option(help: ArgumentHelp(
        "Keys over memcached's 250 bytes: skip (fail them with key_too_long) or hash (store under the hex MD5 of the key, if the application does the same). (default: skip)",
        valueName: "skip|hash"))
    var longKeys: LongKeysArgument?

    @Option(help: ArgumentHelp("Values larger than this fail with value_too_large (memcached's item limit, -I). (default: 1048576)", valueName: "bytes"))
    var maxValueBytes: Int?

    /// Whether any of these options was given (they need a memcached target).
    var anyGiven: Bool { distribution != nil || longKeys != nil || maxValueBytes != nil }

    /// Checks the values; errors are usage errors (exit 64).
    func check(servers: String) throws {
        _ = try WarmOptions.usageError { () throws(MemcachedError) in try MemcachedServer.parseList(servers) }
        if let maxValueBytes, maxValueBytes < 1 { throw ValidationError("--max-value-bytes must be at least 1") }
    }

    /// The library settings for warming the pool `servers`.
    func settings(servers text: String, options: WarmOptions) throws -> MemcachedWarmSettings {
        let servers = try WarmOptions.usageError { () throws(MemcachedError) in try MemcachedServer.parseList(text) }
        let source: MemcachedWarmSettings.Source
        if let origin = options.origin {
            source = .origin(try options.originSettings(origin))
        } else {
            source = .copy(try WarmOptions.usageError { () throws(MemcachedError) in try MemcachedServer.parseList(options.copyFrom ?? "", option: "--copy-from") })
        }
        var settings = MemcachedWarmSettings(servers: servers, source: source, ttl: try options.ttlPolicy() ?? .none)
        settings.distribution = distribution?.value ?? .ketama
        settings.longKeys = longKeys?.value ?? .skip
        settings.maxValueBytes = maxValueBytes ?? (1 << 20)
        settings.overwrite = options.overwrite
        settings.dryRun = options.dryRun
        settings.connections = options.connections
        settings.batchSize = options.batch
        settings.rate = try options.parsedRate()
        settings.failureLimit = try WarmOptions.usageError { () throws(WarmError) in try FailureLimit.parse(options.maxFailures) }
        settings.connectTimeout = options.connectTimeout
        settings.timeout = options.timeout
        return settings
    }
}

/// `--distribution` values.
enum MemcachedDistributionArgument: String, ExpressibleByArgument, CaseIterable {
    case ketama, modula
    var value: MemcachedDistribution { self == .ketama ? .ketama : .modula }
}

/// `--long-keys` values.
enum LongKeysArgument: String, ExpressibleByArgument, CaseIterable {
    case skip, hash
    var value: MemcachedKey.LongKeyPolicy { self == .skip ? .skip : .hash }
}
