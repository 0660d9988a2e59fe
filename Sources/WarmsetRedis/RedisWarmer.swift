import Foundation
import WarmsetModel
import WarmsetWarm

/// Everything a Redis warm run needs besides the plan.
public struct RedisWarmSettings: Sendable {
    /// Where values come from.
    public enum Source: Sendable {
        /// An HTTP origin (`--origin TEMPLATE`).
        case origin(OriginSource.Settings)
        /// Another Redis (`--copy-from URL`): strings by MGET there and MSETNX (or SET PX NX)
        /// here, other types by DUMP + PTTL there and RESTORE here (see `SourceRead`).
        case copy(RedisConnectionSettings)
    }

    /// The Redis to warm.
    public var target: RedisConnectionSettings
    /// Where values come from.
    public var source: Source
    /// The TTL of written keys. nil keeps the source's remaining TTL (copy-from only).
    public var ttl: TTLPolicy?
    /// Write even if the key is present (`--overwrite`), instead of EXISTS then SET NX.
    public var overwrite = false
    /// Refresh present keys whose remaining TTL is below this many milliseconds (watch mode's
    /// `--refresh-below`): existence is checked with pipelined PTTL instead of EXISTS, and such
    /// keys are rewritten (SET without NX, RESTORE REPLACE) and counted as warmed and under the
    /// report's `refreshed` counter. Keys without a TTL are left alone. nil: EXISTS, as usual.
    public var refreshBelowMilliseconds: Int64?
    /// Check existence only; fetch and write nothing.
    public var dryRun = false
    /// Connections per master (`--connections`).
    public var connections = 4
    /// Keys per pipeline (`--batch`).
    public var batchSize = 256
    /// Origin requests per second, nil for no limit (`--rate`).
    public var rate: Double?
    /// When to stop early (`--max-failures`).
    public var failureLimit: FailureLimit = .unlimited
    /// Treat the target as a Redis Cluster whatever it says (`--cluster`); nil detects it.
    public var cluster: Bool?

    /// Settings for warming `target` from `source`.
    public init(target: RedisConnectionSettings, source: Source, ttl: TTLPolicy?) {
        self.target = target
        self.source = source
        self.ttl = ttl
    }
}

/// Warms Redis (standalone or Cluster) with a plan: for each batch, pipelined EXISTS (unless
/// overwriting; PTTL with `refreshBelowMilliseconds`), values for the missing keys from the origin or the copy-from Redis, then
/// pipelined `SET key value [EX ttl] [NX]`, or for copy-from `MSETNX`, `SET key value PX ms NX` and
/// `RESTORE key ttl payload [REPLACE]`. Masters are
/// warmed in parallel, each by `connections` threads with a connection each.
public struct RedisWarmer: CacheWarmer {
    /// The run's settings.
    public let settings: RedisWarmSettings
    /// warmset's version, for the origin's User-Agent `warmset/VERSION`.
    public let userAgentVersion: String

    /// A warmer of `settings.target`.
    public init(_ settings: RedisWarmSettings, userAgentVersion: String = "0") {
        self.settings = settings
        self.userAgentVersion = userAgentVersion
    }

    /// The target's URL, password redacted.
    public var target: String { settings.target.url.description }

    /// Runs the warm-up and accounts for every key.
    /// - Parameter progress: called about every 200 ms from a background thread.
    /// - Throws: `RedisError` when the target (or copy-from source) cannot be reached or logged in
    ///   to at the start; after that, problems are per key and land in the report.
    public func warm(_ plan: WarmPlan, progress: (@Sendable (WarmProgress) -> Void)?) throws(RedisError) -> WarmReport {
        let settings = self.settings
        let ledger = WarmLedger(total: plan.entries.count, limit: settings.failureLimit)
        // Connect first, so that a wrong address or password is one clear error.
        let probe = try RedisConnection(settings.target)
        let topology = try Self.detectTopology(probe, settings: settings.target, force: settings.cluster)
        var sourceTopology: ClusterTopology?
        let sourceName: String
        let bucket = TokenBucket(rate: settings.rate)
        var origin: OriginSource?
        switch settings.source {
        case .origin(let originSettings):
            var s = originSettings
            s.userAgent = "warmset/\(userAgentVersion)"
            origin = OriginSource(s, bucket: bucket, ledger: ledger)
            sourceName = Redaction.url(s.template.text)
        case .copy(let from):
            let sourceProbe = try RedisConnection(from)
            sourceTopology = try Self.detectTopology(sourceProbe, settings: from, force: nil)
            sourceName = from.url.description
        }
        defer { origin?.shutdown() }

        // One queue per master; keys of a slot no master covers go to the seed.
        var lanes: [[WarmEntry]] = [plan.entries]
        if topology.isCluster {
            var nodes: [RedisEndpoint] = []
            var laneOfNode: [RedisEndpoint: Int] = [:]
            let laneOfSlot = (0..<ClusterSlot.count).map { slot in
                let node = topology.node(forSlot: slot)
                if let lane = laneOfNode[node] { return lane }
                nodes.append(node)
                laneOfNode[node] = nodes.count - 1
                return nodes.count - 1
            }
            lanes = Array(repeating: [], count: nodes.count)
            for entry in plan.entries { lanes[laneOfSlot[ClusterSlot.of(entry.key)]].append(entry) }
        }
        let job = Job(settings: settings, topology: topology, sourceTopology: sourceTopology, origin: origin, ledger: ledger)
        WarmWorkers.run(
            lanes: lanes, threadsPerLane: settings.connections, batchSize: settings.batchSize, ledger: ledger,
            progress: progress, work: job.work)
        var report = ledger.report(target: target, source: sourceName, dryRun: settings.dryRun)
        if settings.target.url.sentinel != nil && !settings.dryRun && !report.stoppedEarly {
            // A failover the connections did not notice (the old master keeps taking writes until
            // the sentinels turn it into a replica) shows when the sentinels name another master now.
            _ = try? RedisConnection(settings.target)
        }
        if settings.target.url.sentinel != nil, settings.target.masters.changes > 0, !settings.dryRun, !report.stoppedEarly {
            recheckAfterFailover(plan, &report, topology: topology, sourceTopology: sourceTopology, bucket: bucket)
        }
        return report
    }

    /// After a Sentinel failover during the run: the writes the old master took after its
    /// replica stopped copying are gone (Redis replicates asynchronously), so every key the run
    /// did not fail is checked on the new master once more (EXISTS) and the missing ones are
    /// warmed again. Each key stays counted once: a key that fails now moves from warmed (or
    /// present) to failed; the report counts `failover_rechecked` and `failover_rewarmed`.
    private func recheckAfterFailover(
        _ plan: WarmPlan, _ report: inout WarmReport, topology: ClusterTopology, sourceTopology: ClusterTopology?, bucket: TokenBucket
    ) {
        var again = settings
        again.overwrite = false
        again.refreshBelowMilliseconds = nil
        let failed = Set(report.failures.map(\.key))
        let entries = plan.entries.filter { !failed.contains($0.key) }
        let ledger = WarmLedger(total: entries.count, limit: .unlimited)
        var origin: OriginSource?
        if case .origin(let originSettings) = settings.source {
            var s = originSettings
            s.userAgent = "warmset/\(userAgentVersion)"
            origin = OriginSource(s, bucket: bucket, ledger: ledger)
        }
        defer { origin?.shutdown() }
        let job = Job(settings: again, topology: topology, sourceTopology: sourceTopology, origin: origin, ledger: ledger)
        WarmWorkers.run(lanes: [entries], threadsPerLane: settings.connections, batchSize: settings.batchSize, ledger: ledger, progress: nil, work: job.work)
        let second = ledger.report(target: target, source: report.source, dryRun: false)
        report.counters["failover_rechecked", default: 0] += entries.count
        report.counters["failover_rewarmed", default: 0] += second.warmed
        for (name, n) in second.counters { report.counters[name, default: 0] += n }
        report.bytesWritten += second.bytesWritten
        for failure in second.failures {
            if report.warmed > 0 { report.warmed -= 1 } else if report.present > 0 { report.present -= 1 }
            report.failures.append(failure)
            report.failedByReason[failure.reason, default: 0] += 1
        }
        report.failed = report.failures.count
    }

    /// Cluster or standalone: `--cluster`, else `INFO cluster`'s `cluster_enabled:1`.
    static func detectTopology(_ probe: RedisConnection, settings: RedisConnectionSettings, force: Bool?) throws(RedisError) -> ClusterTopology {
        var isCluster = force ?? false
        if force == nil {
            let info = try probe.pipelineOrThrow([.command("INFO", Array("cluster".utf8))], operation: "INFO cluster")[0]
            isCluster = info.text?.contains("cluster_enabled:1") ?? false
        }
        return isCluster ? try ClusterTopology(cluster: settings.url.endpoint, connection: probe) : ClusterTopology(standalone: settings.url.endpoint)
    }
}
