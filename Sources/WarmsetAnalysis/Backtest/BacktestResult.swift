/// The figures of one warm set: a deploy time T, a strategy and a size N, measured over the
/// counted requests logged in (T, T+window]. Definitions: docs/backtest.md.
public struct BacktestRow: Sendable, Equatable {
    /// T, epoch seconds.
    public var at: Int64
    /// The strategy, as given to `--strategy`.
    public var strategy: String
    /// N, the most keys the warm set may hold.
    public var top: Int
    /// Keys the strategy actually chose (fewer than N when fewer keys scored above 0).
    public var warmSetKeys: Int
    /// Counted requests in the window.
    public var requests: Int
    /// Requests in the window whose key is in the warm set.
    public var hits: Int
    /// `hits / requests`.
    public var hitShare: Double
    /// Misses of a cache that starts from the warm set and keeps every key after its first miss.
    public var warmMisses: Int
    /// Misses of the same cache started empty: the distinct keys of the window.
    public var coldMisses: Int
    /// The hit share of the window's own top N (the best any warm set of N keys can do).
    public var oracleHitShare: Double
    /// Seconds after T until the keys a cold cache has seen cover at least `hits` requests of
    /// the window; 0 when `hits` is 0.
    public var timeToFillSeconds: Int64
    /// True for the strategy with the highest hit share at this T and N (ties: fewer warm
    /// misses, then the first given).
    public var best: Bool
    /// `warmMisses` by minute after T: element m counts the misses in (T+60m, T+60m+60] (the
    /// last minute may be shorter than 60 s when the window is not whole minutes). Sums to
    /// `warmMisses`.
    public var warmMissesPerMinute: [Int]
    /// `coldMisses` by minute after T, as `warmMissesPerMinute`; the same for every row of a T.
    public var coldMissesPerMinute: [Int]

    /// A row with every figure given.
    public init(
        at: Int64, strategy: String, top: Int, warmSetKeys: Int, requests: Int, hits: Int, hitShare: Double, warmMisses: Int,
        coldMisses: Int, oracleHitShare: Double, timeToFillSeconds: Int64, best: Bool, warmMissesPerMinute: [Int] = [],
        coldMissesPerMinute: [Int] = []
    ) {
        self.at = at
        self.strategy = strategy
        self.top = top
        self.warmSetKeys = warmSetKeys
        self.requests = requests
        self.hits = hits
        self.hitShare = hitShare
        self.warmMisses = warmMisses
        self.coldMisses = coldMisses
        self.oracleHitShare = oracleHitShare
        self.timeToFillSeconds = timeToFillSeconds
        self.best = best
        self.warmMissesPerMinute = warmMissesPerMinute
        self.coldMissesPerMinute = coldMissesPerMinute
    }
}

/// One strategy and size over several deploy times.
public struct BacktestAggregate: Sendable, Equatable {
    /// The strategy, as given to `--strategy`.
    public var strategy: String
    /// N.
    public var top: Int
    /// The mean and the lowest hit share over the deploy times.
    public var meanHitShare: Double
    public var worstHitShare: Double
    /// The mean and the highest warm misses over the deploy times.
    public var meanWarmMisses: Double
    public var worstWarmMisses: Int
    /// The mean oracle hit share.
    public var meanOracleHitShare: Double
    /// True for the strategy with the highest mean hit share at this N.
    public var best: Bool
}

/// What `Backtest.run` found.
public struct BacktestResult: Sendable {
    /// One row per deploy time, strategy and size, in that order.
    public var rows: [BacktestRow] = []
    /// With several deploy times: one per strategy and size.
    public var aggregates: [BacktestAggregate] = []
    /// The window, in seconds.
    public var windowSeconds: Int64 = 0
    /// Lines read, lines that did not match the format, and the first few of those.
    public var linesRead = 0
    public var linesMalformed = 0
    public var malformedSamples: [String] = []
    /// Requests counted with a readable time, and those whose time could not be read.
    public var requestsTimed = 0
    public var requestsUntimed = 0
    /// The parse lanes the logs were read on (not printed: every figure is the same on any number).
    public var parseLanes = 1
    /// Distinct keys over all counted requests.
    public var distinctKeys = 0
    /// The oldest and newest counted request's log time.
    public var oldest: Int64 = 0
    public var newest: Int64 = 0
    /// Notes about options that cannot apply to this format.
    public var notes: [String] = []
    /// How the history was counted.
    public var counting: BacktestCounting = .exact
    /// Sketch mode: each counter's error bounds, one per deploy time and strategy.
    public var sketchBounds: [BacktestSketchBound] = []

    /// The rows of each deploy time, in the order measured.
    /// - Complexity: O(r) for r rows.
    public var blocks: [ArraySlice<BacktestRow>] {
        var out: [ArraySlice<BacktestRow>] = []
        var start = rows.startIndex
        while start < rows.endIndex {
            let at = rows[start].at
            let block = rows[start...].prefix { $0.at == at }
            out.append(block)
            start = block.endIndex
        }
        return out
    }
}

/// How a backtest counted the requests before each deploy time.
public enum BacktestCounting: Sendable, Equatable {
    /// Every request recorded (the default): every figure is exact.
    case exact
    /// `--sketch-memory`: a counter per deploy time and strategy, the windows exact; the
    /// counters and windows held `memoryBytes`.
    case sketch(memoryBytes: Int)
}

/// Why a backtest has no answer, in one sentence (exit 1).
public struct BacktestError: Error, CustomStringConvertible, Sendable {
    /// One sentence naming what is missing and the fix.
    public let description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
