/// One key of the warm set, with its count and a representative request path.
public struct RankedKey: Equatable, Sendable {
    /// The cache key.
    public var key: String
    /// The count: exact, or the sketch's estimate (never below the true count).
    public var count: UInt64
    /// A normalized request path that produced this key (what an HTTP warmer requests).
    public var path: String
    /// Requests seen while the key was tracked (exact in `--exact` mode).
    public var observed: UInt64
    /// Mean body bytes of the requests seen while tracked (0 when unknown).
    public var meanBytes: UInt64
    /// The weighted or decayed score the ranking used (`--weight bytes|time`, `--half-life`);
    /// nil when keys are ranked by request count, which is then `count`.
    public var score: Double?
    /// The key rule's capture groups for `path` (`$1`…), for value templates such as `{1}`.
    public var captures: [String] = []

    /// Creates an entry.
    public init(key: String, count: UInt64, path: String, observed: UInt64 = 0, meanBytes: UInt64 = 0) {
        self.key = key
        self.count = count
        self.path = path
        self.observed = observed
        self.meanBytes = meanBytes
    }

    /// The value the ranking uses: the score when weighted, else the count.
    public var rankValue: Double { score ?? Double(count) }

    /// The ranking order: higher count first, then the key's bytes ascending, so that
    /// output is deterministic.
    public static func ranksBefore(_ a: RankedKey, _ b: RankedKey) -> Bool {
        if let sa = a.score, let sb = b.score, sa != sb { return sa > sb }
        if a.count != b.count { return a.count > b.count }
        return a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
    }
}
