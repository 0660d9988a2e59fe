/// A cache a warm plan can be loaded into: Redis (standalone or Cluster), a memcached pool, the
/// HTTP caches behind a URL. `warmset warm`, `warmset analyze --warm-…` and every cycle of
/// `warmset watch` drive a warmer through this protocol alone, so that a new cache (or a new
/// way to reach one: TLS, Sentinel, a fleet of HTTP nodes) is a new conforming type or new
/// settings of one, and none of its callers change.
///
/// A warmer is a value built from its settings; each `warm` call is one run, with its own
/// connections, rate limit and ledger. What a warmer does with keys already in the cache (leave
/// them, overwrite them, or refresh those whose remaining TTL runs low, as `watch` asks of
/// caches that can tell it) is part of its settings, not of the call.
public protocol CacheWarmer: Sendable {
    /// The cache, secrets redacted, as the report names it (`redis://user:***@cache:6379/0`).
    var target: String { get }

    /// Warms `plan` and accounts for every key: warmed, present, or failed with its reason.
    /// - Parameter progress: called about every 200 ms from a background thread, and once at
    ///   the end; nil for none.
    /// - Returns: the run's report.
    /// - Throws: when the run cannot start at all (the cache is unreachable, a login is
    ///   refused, a URL is unusable); after the start every problem is a key's and lands in the
    ///   report.
    func warm(_ plan: WarmPlan, progress: (@Sendable (WarmProgress) -> Void)?) throws -> WarmReport
}
