import Foundation
import WarmsetModel
import WarmsetWarm

/// Everything a memcached warm run needs besides the plan.
public struct MemcachedWarmSettings: Sendable {
    /// Where values come from.
    public enum Source: Sendable {
        /// An HTTP origin (`--origin TEMPLATE`).
        case origin(OriginSource.Settings)
        /// Another memcached pool (`--copy-from memcached://host:port,…`), read with the same
        /// distribution; the item's flags are kept.
        case copy([MemcachedServer])
    }

    /// The pool to warm, in the order given (which `modula` depends on).
    public var servers: [MemcachedServer]
    /// How keys are spread over the nodes.
    public var distribution: MemcachedDistribution = .ketama
    /// Where values come from.
    public var source: Source
    /// The TTL of written keys (memcached cannot tell a copied item's remaining TTL).
    public var ttl: TTLPolicy
    /// `set` every key (`--overwrite`) instead of `add` (which leaves present keys alone).
    public var overwrite = false
    /// Refresh present keys whose remaining TTL is below this many seconds (watch mode's
    /// `--refresh-below`): existence is checked with pipelined `mg KEY t` (memcached 1.6+)
    /// instead of a multi-get, and such keys are rewritten with `set` and counted as warmed and
    /// under the report's `refreshed` counter. Keys without a TTL are left alone. nil: multi-get.
    public var refreshBelowSeconds: Double?
    /// Check existence only; fetch and write nothing.
    public var dryRun = false
    /// Worker threads (each with its own connections) per node.
    public var connections = 4
    /// Keys per batch (one multi-get checks a batch).
    public var batchSize = 256
    /// Origin requests per second, nil for no limit.
    public var rate: Double?
    /// When to stop early.
    public var failureLimit: FailureLimit = .unlimited
    /// What to do with keys over 250 bytes.
    public var longKeys: MemcachedKey.LongKeyPolicy = .skip
    /// Values larger than this fail with `value_too_large` (memcached's default item limit is 1 MB).
    public var maxValueBytes = 1 << 20
    /// Seconds to connect.
    public var connectTimeout: Double = 5
    /// Seconds to wait for a reply.
    public var timeout: Double = 30

    /// Settings for warming `servers` from `source`.
    public init(servers: [MemcachedServer], source: Source, ttl: TTLPolicy) {
        self.servers = servers
        self.source = source
        self.ttl = ttl
    }

    /// `memcached://host:port,host:port`.
    public var targetName: String { "memcached://" + servers.map(\.description).joined(separator: ",") }
}

/// Warms a memcached pool with a plan. Keys land on the node libmemcached's distribution picks
/// (ketama by default). Nodes are warmed in parallel, each by `connections` threads; a node that
/// does not answer at the start has its keys failed as `node_down` while the others are warmed.
/// Per batch: one multi-get finds the present keys (unless overwriting; pipelined `mg KEY t`
/// with `refreshBelowSeconds`), values for the others come from the origin or the copy-from
/// pool, then `add` (or `set`, for a key to refresh) with the exptime.
public struct MemcachedWarmer: CacheWarmer {
    /// The run's settings.
    public let settings: MemcachedWarmSettings
    /// warmset's version, for the origin's User-Agent `warmset/VERSION`.
    public let userAgentVersion: String

    /// A warmer of the pool `settings.servers`.
    public init(_ settings: MemcachedWarmSettings, userAgentVersion: String = "0") {
        self.settings = settings
        self.userAgentVersion = userAgentVersion
    }

    /// `memcached://host:port,host:port`.
    public var target: String { settings.targetName }

    /// Runs the warm-up and accounts for every key.
    /// - Throws: `MemcachedError` when the pool cannot be built or no node answers.
    public func warm(_ plan: WarmPlan, progress: (@Sendable (WarmProgress) -> Void)?) throws(MemcachedError) -> WarmReport {
        let settings = self.settings
        let ledger = WarmLedger(total: plan.entries.count, limit: settings.failureLimit)
        let pool = try MemcachedPool(
            servers: settings.servers, distribution: settings.distribution, connectTimeout: settings.connectTimeout, timeout: settings.timeout)
        let down = Self.downNodes(settings.servers, settings: settings)
        if down.count == settings.servers.count {
            throw MemcachedError(settings.targetName, "no node answers (\(down.map { "\($0.key): \($0.value)" }.sorted().joined(separator: "; ")))")
        }
        let bucket = TokenBucket(rate: settings.rate)
        var origin: OriginSource?
        let sourceName: String
        switch settings.source {
        case .origin(let originSettings):
            var s = originSettings
            s.userAgent = "warmset/\(userAgentVersion)"
            origin = OriginSource(s, bucket: bucket, ledger: ledger)
            sourceName = Redaction.url(s.template.text)
        case .copy(let from):
            _ = try MemcachedPool(servers: from, distribution: settings.distribution, connectTimeout: settings.connectTimeout, timeout: settings.timeout)
            sourceName = "memcached://" + from.map(\.description).joined(separator: ",")
        }
        defer { origin?.shutdown() }

        // Keys memcached cannot hold are failed here; the rest go to their node's lane.
        var lanes: [MemcachedServer: [WarmEntry]] = [:]
        for entry in plan.entries {
            switch MemcachedKey.storageKey(entry.key, longKeys: settings.longKeys) {
            case .failure(let failure):
                ledger.failed(key: entry.key, failure)
            case .success(let stored):
                guard let node = pool.server(forKey: stored) else {
                    ledger.failed(key: entry.key, KeyFailure("no_node", "libmemcached picked no node for the key"))
                    continue
                }
                if let why = down[node] {
                    ledger.failed(key: entry.key, KeyFailure("node_down", "\(node): \(why)"))
                    continue
                }
                lanes[node, default: []].append(entry)
            }
        }
        // Counted per node, so that the summary and report name each node that was down.
        for node in down.keys { ledger.count("node_down \(node)") }
        let job = MemcachedJob(settings: settings, origin: origin, ledger: ledger)
        WarmWorkers.run(
            lanes: settings.servers.compactMap { lanes[$0] }, threadsPerLane: settings.connections, batchSize: settings.batchSize,
            ledger: ledger, progress: progress, work: job.work)
        return ledger.report(target: target, source: sourceName, dryRun: settings.dryRun)
    }

    /// The node libmemcached's distribution picks for `key` in the pool `servers`: where the
    /// application's client (configured the same way) reads it.
    /// - Throws: `MemcachedError` when libmemcached cannot build the pool.
    public static func node(
        forKey key: String, servers: [MemcachedServer], distribution: MemcachedDistribution
    ) throws(MemcachedError) -> MemcachedServer? {
        try MemcachedPool(servers: servers, distribution: distribution, connectTimeout: 1, timeout: 1).server(forKey: key)
    }

    /// The nodes that do not answer a `get` at the start, with libmemcached's message.
    static func downNodes(_ servers: [MemcachedServer], settings: MemcachedWarmSettings) -> [MemcachedServer: String] {
        var down: [MemcachedServer: String] = [:]
        for server in servers {
            do {
                let single = try MemcachedPool(servers: [server], distribution: .modula, connectTimeout: settings.connectTimeout, timeout: settings.timeout)
                if let error = single.get(["warmset:probe"]).error, error.nodeDown { down[server] = error.message }
            } catch {
                down[server] = error.message
            }
        }
        return down
    }
}
