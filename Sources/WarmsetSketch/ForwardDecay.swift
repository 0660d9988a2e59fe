#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exponential decay by log time as forward decay (Cormode, Shkapenyuk, Srivastava and Xu,
/// ICDE 2009): a request at time t gets weight 2^((t − L)/h) = e^{λ(t−L)}, λ = ln 2 / h,
/// relative to a landmark L. Comparing weights at any later time T only divides them all by
/// the same 2^((T − L)/h), so the ranking is that of exponential decay, and counters only
/// ever grow.
///
/// The landmark rule makes decayed sketches mergeable across hosts: L is always a multiple
/// of the period P = 64·h counted from the Unix epoch, the one at or below the newest time
/// seen. When a newer period starts, everything is multiplied by 2^(−64·k), a power of two
/// (exact in floating point), so weights stay below 2^64 and never overflow. Two sketches
/// with the same half-life are merged by bringing both to the later landmark.
public struct ForwardDecay: Sendable, Equatable {
    /// The half-life h, in seconds.
    public let halfLifeSeconds: Int64
    /// The landmark L (epoch seconds), nil until the first timed request.
    public private(set) var landmark: Int64?
    /// The newest log time seen.
    public private(set) var newest: Int64?
    /// The oldest log time seen.
    public private(set) var oldest: Int64?

    /// Half-lives per landmark period.
    public static let halfLivesPerPeriod: Int64 = 64

    /// Creates a decay with no time seen yet.
    public init(halfLifeSeconds: Int64) {
        precondition(halfLifeSeconds >= 1)
        self.halfLifeSeconds = halfLifeSeconds
    }

    /// Restores a decay from a sketch file.
    public init(halfLifeSeconds: Int64, landmark: Int64?, oldest: Int64?, newest: Int64?) {
        self.init(halfLifeSeconds: halfLifeSeconds)
        self.landmark = landmark
        self.oldest = oldest
        self.newest = newest
    }

    /// The landmark period P = 64·h.
    public var period: Int64 { halfLifeSeconds &* Self.halfLivesPerPeriod }

    /// The landmark for a time: the multiple of P at or below it.
    public func landmark(for time: Int64) -> Int64 {
        let p = period
        let q = time / p
        return (time % p < 0 ? q - 1 : q) &* p
    }

    /// The factor 2^(−(to − from)/h) that moves weights from landmark `from` to `to`.
    public func rescaleFactor(from: Int64, to: Int64) -> Double {
        exp2(-Double(to - from) / Double(halfLifeSeconds))
    }

    /// Records a request at `time`: returns its weight factor relative to the landmark, and
    /// the factor by which existing weights must be multiplied first when the landmark moved
    /// (nil when it did not).
    /// - Complexity: O(1).
    @inline(__always)
    public mutating func observe(_ time: Int64) -> (factor: Double, rescale: Double?) {
        var rescale: Double? = nil
        if let current = landmark {
            if time >= current &+ period {
                let next = landmark(for: time)
                rescale = rescaleFactor(from: current, to: next)
                landmark = next
            }
        } else {
            landmark = landmark(for: time)
        }
        if newest.map({ time > $0 }) ?? true { newest = time }
        if oldest.map({ time < $0 }) ?? true { oldest = time }
        return (exp2(Double(time - (landmark ?? time)) / Double(halfLifeSeconds)), rescale)
    }

    /// A request's weight as counted: `weight` times the request's factor at `time` (a
    /// request with no readable time gets the newest time's factor). When the landmark moves,
    /// `rescale` is called first with the factor every stored weight must be multiplied by.
    /// The one place a counter decays a weight (`ExactCounter`, `WeightedSketchCounter`).
    /// - Complexity: O(1) plus `rescale`.
    @inline(__always)
    public mutating func weigh(_ weight: Double, at time: Int64?, rescale: (Double) -> Void) -> Double {
        guard let time else { return weight * untimedFactor }
        let observed = observe(time)
        if let factor = observed.rescale { rescale(factor) }
        return weight * observed.factor
    }

    /// The weight factor of a request with no readable time: that of the newest time seen.
    public var untimedFactor: Double {
        guard let landmark, let newest else { return 1 }
        return exp2(Double(newest - landmark) / Double(halfLifeSeconds))
    }

    /// Multiplies stored weights to express them as "requests as of the newest time": a
    /// request at the newest time counts 1, one a half-life earlier counts 0.5.
    public var displayScale: Double {
        guard let landmark, let newest else { return 1 }
        return exp2(-Double(newest - landmark) / Double(halfLifeSeconds))
    }

    /// Merges another decay's times; returns the factors that bring this side's and the
    /// other side's weights to the common (later) landmark.
    /// - Precondition: the half-lives are equal.
    public mutating func merge(_ other: ForwardDecay) -> (selfFactor: Double, otherFactor: Double) {
        precondition(other.halfLifeSeconds == halfLifeSeconds)
        let target: Int64?
        switch (landmark, other.landmark) {
        case (let a?, let b?): target = max(a, b)
        case (let a?, nil): target = a
        case (nil, let b?): target = b
        case (nil, nil): target = nil
        }
        let selfFactor = landmark.flatMap { l in target.map { rescaleFactor(from: l, to: $0) } } ?? 1
        let otherFactor = other.landmark.flatMap { l in target.map { rescaleFactor(from: l, to: $0) } } ?? 1
        landmark = target
        if let n = other.newest, newest.map({ n > $0 }) ?? true { newest = n }
        if let o = other.oldest, oldest.map({ o < $0 }) ?? true { oldest = o }
        return (selfFactor, otherFactor)
    }
}
