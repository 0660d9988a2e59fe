import WarmsetSketch
import WarmsetWarm

/// The warm step of a cycle: one cache backend (Redis now; memcached and HTTP plug in the same
/// way). Called with the current warm set once per cycle, on the watch loop's thread.
public protocol WatchWarmer {
    /// Warms `keys` (in rank order) and accounts for every one.
    /// - Throws: when the warm step cannot run at all (e.g. the cache is unreachable); the
    ///   cycle is counted as failed and the next one tries again.
    func warm(_ keys: [RankedKey]) throws -> WarmReport
}
