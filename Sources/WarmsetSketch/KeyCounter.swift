import WarmsetModel
/// What a counter reports about itself for the summary.
public struct CounterStats: Sendable, Equatable {
    /// Requests counted.
    public var total: UInt64
    /// Total weight counted (N), in the units of the scores: requests, bytes, seconds, or
    /// decayed requests as of the newest log time. Equal to `total` for request counts.
    public var weightTotal: Double
    /// Estimated distinct keys (exact in exact mode); nil when the sketch is saturated.
    public var distinctKeys: Double?
    /// Bytes of memory the counter holds.
    public var memoryBytes: Int
    /// The additive error bound ε·N, rounded up (0 when exact).
    public var errorBound: UInt64
    /// The additive error bound ε·N in score units (0 when exact).
    public var errorBoundWeight: Double = 0
    /// Any key that is not a candidate has a true weight of at most this (0 when exact, or
    /// when no key was ever turned away).
    public var missBound: Double = 0
    /// True for exact counting.
    public var exact: Bool
    /// True when keys are ranked by a weighted or decayed score.
    public var weighted: Bool = false
    /// Keys tracked: candidates in sketch mode, every key in exact mode.
    public var tracked: Int = 0
    /// The sketch's shape (sketch mode): from the sketch inputs when there were any.
    public var parameters: SketchParameters? = nil
}

/// Counts keys: a count-min sketch with a candidate set, or exact counts.
public protocol KeyCounter: AnyObject {
    /// Counts one request for `key`, remembering `path` as its representative request.
    func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64)
    /// The top `limit` keys in rank order.
    func ranked(limit: Int) -> [RankedKey]
    /// The top `limit` keys in rank order, only the first `named` with their key and path: the
    /// others have empty ones, and their counts, scores and sizes, for totals past the keys
    /// chosen (a summary's coverage curve). Strings for a run's thousands of candidates past
    /// `--top` are a large part of the ranking's time otherwise.
    func ranked(limit: Int, named: Int) -> [RankedKey]
    /// Totals and memory, for the summary.
    var stats: CounterStats { get }
}

extension KeyCounter {
    /// Every key named: for counters whose ranking makes every key's strings anyway.
    public func ranked(limit: Int, named: Int) -> [RankedKey] { ranked(limit: limit) }
}

/// A counter that ranks by weight (`--weight bytes|time`) and/or by decayed weight
/// (`--half-life`).
public protocol WeightedKeyCounter: KeyCounter {
    /// Counts one request for `key` with `weight`, logged at `time` (epoch seconds; nil when
    /// the line has no readable time).
    func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64, weight: Double, time: Int64?)
}

/// What a request weighs.
public enum SketchWeight: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// One per request.
    case requests = 0
    /// `$body_bytes_sent`: warm what moves the most bytes.
    case bytes = 1
    /// `$request_time`: warm what costs the origin the most time.
    case time = 2

    public var description: String {
        switch self {
        case .requests: return "requests"
        case .bytes: return "bytes"
        case .time: return "time"
        }
    }
}

/// Exact counting in a hash table: memory grows with the number of distinct keys.
public final class ExactCounter: WeightedKeyCounter {
    let table = KeyTable(expectedCount: 1 << 14)
    var total: UInt64 = 0
    var weightTotal: Double = 0
    let seed: UInt64
    let weighted: Bool
    private var decay: ForwardDecay?
    private var admitsNewKeys = true

    /// Creates a counter that counts only `keys` exactly and ignores every other key
    /// (`--recount`: a second pass over the logs for a sketch's candidates).
    public convenience init(
        only keys: [(key: [UInt8], path: [UInt8])], seed: UInt64, weighted: Bool = false, halfLifeSeconds: Int64? = nil
    ) {
        self.init(seed: seed, weighted: weighted, halfLifeSeconds: halfLifeSeconds)
        for (key, path) in keys {
            key.withUnsafeBytes { k in
                path.withUnsafeBytes { p in
                    let hash = KeyHash.hash(k, seed: seed)
                    if table.find(hash, key: k) == nil { table.insert(hash, key: k, path: p) }
                }
            }
        }
        admitsNewKeys = false
    }

    /// Creates an empty counter.
    /// - Parameters:
    ///   - weighted: rank by the weights given to `add(…weight:time:)` rather than by count.
    ///   - halfLifeSeconds: decay weights with this half-life of log time.
    public init(seed: UInt64 = SketchParameters.default.seed, weighted: Bool = false, halfLifeSeconds: Int64? = nil) {
        self.seed = seed
        self.weighted = weighted || halfLifeSeconds != nil
        decay = halfLifeSeconds.map { ForwardDecay(halfLifeSeconds: $0) }
    }

    /// - Complexity: O(key length) expected; allocates only for a new key.
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64) {
        let hash = KeyHash.hash(key, seed: seed)
        total &+= 1
        weightTotal += 1
        guard let index = table.find(hash, key: key) ?? (admitsNewKeys ? table.insert(hash, key: key, path: path) : nil) else {
            return
        }
        table.record(index, count: 1, bytes: UInt64(max(bytes, 0)), weight: 1)
    }

    /// - Complexity: O(key length) expected; O(k) when the decay landmark moves.
    public func add(key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, bytes: Int64, weight: Double, time: Int64?) {
        var w = weight
        if let decayed = decay?.weigh(weight, at: time, rescale: { factor in
            table.scaleWeights(by: factor)
            weightTotal *= factor
        }) {
            w = decayed
        }
        let hash = KeyHash.hash(key, seed: seed)
        total &+= 1
        weightTotal += w
        guard let index = table.find(hash, key: key) ?? (admitsNewKeys ? table.insert(hash, key: key, path: path) : nil) else {
            return
        }
        table.record(index, count: 1, bytes: UInt64(max(bytes, 0)), weight: w)
    }

    /// - Complexity: O(k log k) for k distinct keys.
    public func ranked(limit: Int) -> [RankedKey] {
        let scale = decay?.displayScale ?? 1
        var all = table.entries.map { entry in
            var ranked = RankedKey(
                key: String(decoding: table.key(of: entry), as: UTF8.self), count: entry.count,
                path: String(decoding: table.path(of: entry), as: UTF8.self), observed: entry.count,
                meanBytes: entry.count > 0 ? entry.bytesSum / entry.count : 0)
            if weighted {
                let score = entry.weight * scale
                ranked.score = score
                ranked.count = UInt64(score.rounded())
            }
            return ranked
        }
        all.sort(by: RankedKey.ranksBefore)
        return Array(all.prefix(limit))
    }

    public var stats: CounterStats {
        CounterStats(
            total: total, weightTotal: weighted ? weightTotal * (decay?.displayScale ?? 1) : Double(total),
            distinctKeys: Double(table.count), memoryBytes: table.memoryBytes, errorBound: 0, exact: true,
            weighted: weighted, tracked: table.count)
    }

    /// True when every key seen is tracked (false for a recount of chosen keys).
    public var tracksEveryKey: Bool { admitsNewKeys
    }

    /// The decay's times, when decaying.
    public var decayState: ForwardDecay? { decay }
}
