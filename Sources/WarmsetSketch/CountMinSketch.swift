#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shape of a count-min sketch; sketches merge only when these are equal.
public struct SketchParameters: Equatable, Sendable, Codable {
    /// Rows (d): the failure probability is δ = e^-d.
    public var depth: Int
    /// log₂ of the row width (w): the error is ε·N with ε = e/w.
    public var widthLog2: Int
    /// The hash seed.
    public var seed: UInt64

    /// The defaults: 4 rows of 2^20 32-bit counters (16 MiB), which keep top-10,000
    /// precision above 0.999 on Zipf streams of 10^8 requests (see docs/sketch.md).
    public static let `default` = SketchParameters(depth: 4, widthLog2: 20, seed: 0x7761_726d_7365_7421)

    /// Creates parameters.
    public init(depth: Int, widthLog2: Int, seed: UInt64 = SketchParameters.default.seed) {
        self.depth = depth
        self.widthLog2 = widthLog2
        self.seed = seed
    }

    /// The row width.
    public var width: Int { 1 << widthLog2 }
    /// Bytes of counters.
    public var memoryBytes: Int { depth * width * MemoryLayout<UInt32>.size }
    /// ε = e/w: each estimate exceeds the true count by at most ε·N with probability 1 - δ.
    public var epsilon: Double { 2.718281828459045 / Double(width) }
    /// δ = e^-d.
    public var delta: Double { exp(-Double(depth)) }

    /// Parameters for a target error ε and failure probability δ: w = e/ε rounded up to a
    /// power of two, d = ln(1/δ) rounded up.
    public static func forError(epsilon: Double, delta: Double) -> SketchParameters {
        let width = max(2.718281828459045 / epsilon, 16)
        let widthLog2 = min(Int(ceil(log2(width))), 30)
        let depth = min(max(Int(ceil(log(1 / delta))), 1), 8)
        return SketchParameters(depth: depth, widthLog2: widthLog2)
    }

    /// Parameters that fit `bytes` of counters with 4 rows (fewer for tiny budgets).
    public static func forMemory(bytes: Int) -> SketchParameters {
        let depth = 4
        let perRow = max(bytes / depth / MemoryLayout<UInt32>.size, 16)
        let widthLog2 = min(Int(floor(log2(Double(perRow)))), 30)
        return SketchParameters(depth: depth, widthLog2: widthLog2)
    }
}

/// A count-min sketch with conservative update (Estan and Varghese): an increment raises
/// only the counters that are below the new estimate, which keeps overestimates far lower
/// than plain update at the same memory.
public final class CountMinSketch {
    /// The sketch's shape.
    public let parameters: SketchParameters
    /// The sum of all weights added (N).
    public private(set) var total: UInt64 = 0
    private let depth: Int
    private let mask: UInt64
    private let width: Int
    private let counters: UnsafeMutablePointer<UInt32>

    /// Creates an empty sketch.
    /// - Complexity: O(d·w) to zero the counters.
    public init(parameters: SketchParameters) {
        precondition(parameters.depth >= 1 && parameters.depth <= 8 && parameters.widthLog2 >= 4 && parameters.widthLog2 <= 30)
        self.parameters = parameters
        depth = parameters.depth
        width = parameters.width
        mask = UInt64(parameters.width - 1)
        counters = CounterMemory.allocate(count: parameters.depth * parameters.width)
    }

    deinit { CounterMemory.free(counters) }

    /// The counter index of `hash` in `row`.
    @inline(__always)
    func index(_ hash: Hash128, row: Int) -> Int {
        let lane: UInt64
        switch row {
        case 0: lane = hash.low
        case 1: lane = hash.low >> 32
        case 2: lane = hash.high
        case 3: lane = hash.high >> 32
        default: lane = KeyHash.extraLane(hash, row: row)
        }
        return row &* width &+ Int(truncatingIfNeeded: lane & mask)
    }

    /// Adds `weight` to a key and returns its new estimate.
    /// - Complexity: O(d); no allocation.
    @inline(__always)
    @discardableResult
    public func add(_ hash: Hash128, weight: UInt32 = 1) -> UInt32 {
        var current = UInt32.max
        for row in 0..<depth {
            current = min(current, counters[index(hash, row: row)])
        }
        let (sum, overflow) = current.addingReportingOverflow(weight)
        let target = overflow ? UInt32.max : sum
        for row in 0..<depth {
            let i = index(hash, row: row)
            if counters[i] < target { counters[i] = target }
        }
        total &+= UInt64(weight)
        return target
    }

    /// The estimated count of a key: never below the true count.
    /// - Complexity: O(d).
    @inline(__always)
    public func estimate(_ hash: Hash128) -> UInt32 {
        var current = UInt32.max
        for row in 0..<depth {
            current = min(current, counters[index(hash, row: row)])
        }
        return current
    }

    /// The additive error bound ε·N.
    public var errorBound: UInt64 {
        UInt64((parameters.epsilon * Double(total)).rounded(.up))
    }

    /// Estimated number of distinct keys, by linear counting over the first row; nil when
    /// the row is full (more distinct keys than it can tell).
    /// - Complexity: O(w).
    public func distinctEstimate() -> Double? {
        var zeros = 0
        for i in 0..<width where counters[i] == 0 { zeros += 1 }
        if zeros == 0 { return nil }
        return -Double(width) * log(Double(zeros) / Double(width))
    }
}
