import WarmsetEmit
import WarmsetSketch

/// One key of the warm plan: the cache key, the request path it stands for, and the key rule's
/// captures, which is what a value template (`{key}`, `{path}`, `{1}`…) can use.
public struct WarmEntry: Sendable, Equatable {
    /// The cache key, written as is.
    public var key: String
    /// A representative request path (empty when the manifest did not carry one).
    public var path: String
    /// The key rule's capture groups (`{1}` is the first).
    public var captures: [String]

    /// Creates an entry.
    public init(key: String, path: String = "", captures: [String] = []) {
        self.key = key
        self.path = path
        self.captures = captures
    }

    /// The entry for a manifest line.
    public init(_ entry: ManifestEntry) {
        self.init(key: entry.key, path: entry.path ?? "", captures: entry.captures)
    }

    /// The entry for a key of a fresh analysis.
    public init(_ ranked: RankedKey) {
        self.init(key: ranked.key, path: ranked.path, captures: ranked.captures)
    }
}

/// The warm set in rank order, duplicates removed (the first occurrence wins, so that every key
/// is counted exactly once).
public struct WarmPlan: Sendable {
    /// The entries, each key once.
    public private(set) var entries: [WarmEntry]
    /// How many later duplicates of a key were dropped.
    public private(set) var duplicatesDropped: Int

    /// Builds the plan from `entries` in order.
    /// - Complexity: O(n) expected.
    public init(_ entries: [WarmEntry]) {
        var seen = Set<String>()
        seen.reserveCapacity(entries.count)
        var kept: [WarmEntry] = []
        kept.reserveCapacity(entries.count)
        for entry in entries where seen.insert(entry.key).inserted {
            kept.append(entry)
        }
        self.entries = kept
        self.duplicatesDropped = entries.count - kept.count
    }
}
