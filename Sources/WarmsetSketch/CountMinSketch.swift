import WarmsetModel
import CPrefetch
import WarmsetSystem
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

    /// The defaults: 4 rows of 2^19 32-bit counters (8 MiB). Top-1000 precision and recall are
    /// 1.000 from 1 MiB up on Zipf streams of 10^7 requests, and the top 10,000 of the 5-million-line
    /// benchmark log match exact counting (docs/sketch.md); 8 MiB keeps the default run, with its
    /// two parse workers' sketches, under 64 MiB. A larger `--sketch-memory` lowers ε·N.
    public static let `default` = SketchParameters(depth: 4, widthLog2: 19, seed: 0x7761_726d_7365_7421)

    /// Creates parameters.
    public init(depth: Int, widthLog2: Int, seed: UInt64 = SketchParameters.default.seed) {
        self.depth = depth
        self.widthLog2 = widthLog2
        self.seed = seed
    }

    /// The row width.
    public var width: Int { 1 << widthLog2 }
    /// Bytes of 32-bit counters: the size `--sketch-memory` names (request counts take half of
    /// it in memory, `PromotedCells`).
    public var memoryBytes: Int { depth * width * MemoryLayout<UInt32>.size }

    /// Bytes of counters of `kind`.
    public func memoryBytes(_ kind: SketchCellKind) -> Int { depth * width * kind.byteWidth }
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
    /// - Parameter cellBytes: 4 for request counts, 8 for weighted or decayed counts.
    public static func forMemory(bytes: Int, cellBytes: Int = 4) -> SketchParameters {
        let depth = 4
        let perRow = max(bytes / depth / cellBytes, 16)
        let widthLog2 = min(Int(floor(log2(Double(perRow)))), 30)
        return SketchParameters(depth: depth, widthLog2: widthLog2)
    }

    /// The same memory for 8-byte cells: half the width (weighted and decayed counting).
    public var halvedForWideCells: SketchParameters {
        SketchParameters(depth: depth, widthLog2: max(widthLog2 - 1, 4), seed: seed)
    }
}

/// A count-min sketch (Cormode and Muthukrishnan) over cells of type `Cell`.
///
/// With conservative update (Estan and Varghese, the default) an increment raises only the
/// counters that are below the new estimate, which keeps overestimates far lower than plain
/// update at the same memory. Plain update is linear: the element-wise sum of two plain
/// sketches is exactly the sketch of the concatenated streams. Conservative update is not
/// linear (it depends on order), but the sum of two conservative sketches still never
/// underestimates and never exceeds the plain sketch of the concatenation, so the ε·N bound
/// holds for merged sketches too (see docs/sketch-format.md).
public final class CountMinSketch<Cell: SketchCell> {
    /// The sketch's shape.
    public let parameters: SketchParameters
    /// True for conservative update.
    public let conservative: Bool
    /// The sum of all weights added (N).
    public private(set) var totalWeight: Double = 0
    /// N rounded: the number of requests for request counts.
    public var total: UInt64 { UInt64(totalWeight.rounded()) }
    private let depth: Int
    private let mask: UInt64
    private let width: Int
    /// The cells when they are float weights; nil for request counts.
    private let wideCells: UnsafeMutablePointer<Cell>?
    /// The cells when they are request counts (`Cell` is `UInt32`): 16 bits each, promoted on
    /// overflow; nil for float weights.
    private let requestCells: PromotedCells?

    /// Creates an empty sketch.
    /// - Complexity: O(d·w) to zero the counters.
    public init(parameters: SketchParameters, conservative: Bool = true) {
        precondition(parameters.depth >= 1 && parameters.depth <= 8 && parameters.widthLog2 >= 4 && parameters.widthLog2 <= 30)
        self.parameters = parameters
        self.conservative = conservative
        depth = parameters.depth
        width = parameters.width
        mask = UInt64(parameters.width - 1)
        let count = parameters.depth * parameters.width
        if Cell.self == UInt32.self {
            requestCells = PromotedCells(count: count)
            wideCells = nil
        } else {
            requestCells = nil
            wideCells = ZeroedMemory.allocate(count: count)
        }
    }

    deinit {
        if let wideCells { ZeroedMemory.free(wideCells, count: depth * width) }
    }

    /// Cell `i`.
    @inline(__always)
    private func load(_ i: Int) -> Cell {
        if Cell.self == UInt32.self { return unsafeBitCast(requestCells.unsafelyUnwrapped[i], to: Cell.self) }
        return wideCells.unsafelyUnwrapped[i]
    }

    /// Sets cell `i`.
    @inline(__always)
    private func store(_ i: Int, _ value: Cell) {
        if Cell.self == UInt32.self {
            requestCells.unsafelyUnwrapped[i] = unsafeBitCast(value, to: UInt32.self)
        } else {
            wideCells.unsafelyUnwrapped[i] = value
        }
    }

    /// Bytes the cells take: 2 a request count (plus its side table), 8 a weight.
    var memoryBytes: Int { requestCells?.memoryBytes ?? cellCount * MemoryLayout<Cell>.stride }

    /// The number of cells, d·w.
    public var cellCount: Int { depth * width }

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
    public func add(_ hash: Hash128, weight: Cell) -> Cell {
        totalWeight += weight.doubleValue
        if !conservative {
            let first = index(hash, row: 0)
            var current = load(first).saturatingAdd(weight)
            store(first, current)
            for row in 1..<depth {
                let i = index(hash, row: row)
                let raised = load(i).saturatingAdd(weight)
                store(i, raised)
                current = Swift.min(current, raised)
            }
            return current
        }
        if Cell.self == UInt32.self, depth == 4, let cells = requestCells,
            let raised = cells.conservativeAdd4(
                index(hash, row: 0), index(hash, row: 1), index(hash, row: 2), index(hash, row: 3),
                weight: unsafeBitCast(weight, to: UInt32.self))
        {
            return unsafeBitCast(raised, to: Cell.self)
        }
        let target = estimate(hash).saturatingAdd(weight)
        for row in 0..<depth {
            let i = index(hash, row: row)
            if load(i) < target { store(i, target) }
        }
        return target
    }

    /// Asks the CPU to fetch the key's counters into the cache, so that an `add` a little later
    /// finds them there instead of waiting for d cache misses in a row.
    @inline(__always)
    func prefetch(_ hash: Hash128) {
        if depth == 4, let cells = requestCells {
            warmset_prefetch4_u16_for_write(cells.narrow, index(hash, row: 0), index(hash, row: 1), index(hash, row: 2), index(hash, row: 3))
            return
        }
        for row in 0..<depth { warmset_prefetch_for_write(address(index(hash, row: row))) }
    }

    /// The estimated count of a key: never below the true count.
    /// - Complexity: O(d).
    @inline(__always)
    public func estimate(_ hash: Hash128) -> Cell {
        var current = load(index(hash, row: 0))
        for row in 1..<depth {
            current = Swift.min(current, load(index(hash, row: row)))
        }
        return current
    }

    /// Where cell `i` lives, for a prefetch.
    @inline(__always)
    private func address(_ i: Int) -> UnsafeRawPointer {
        if let requestCells { return UnsafeRawPointer(requestCells.address(i)) }
        return UnsafeRawPointer(wideCells.unsafelyUnwrapped + i)
    }

    /// How many keys ahead `forEachEstimate` prefetches: enough cache misses in flight to hide
    /// their latency, few enough that the lines are still in cache when they are read.
    static var estimateLookahead: Int { 16 }

    /// Calls `body` with each index in `0..<count` and the estimate of `hash(index)`, in order,
    /// the counters of the key `estimateLookahead` places ahead prefetched meanwhile: for
    /// passes over all candidates (ranking, merging, the miss bound), where one estimate's d
    /// cache misses at a time would leave the memory system idle.
    /// - Complexity: O(d·count).
    @inline(__always)
    func forEachEstimate(count: Int, hash: (Int) -> Hash128, _ body: (Int, Cell) -> Void) {
        withLookahead(count: count, ahead: Self.estimateLookahead, prefetch: { prefetchForRead(hash($0)) }) { i in
            body(i, estimate(hash(i)))
        }
    }

    /// Starts loading the counters of `hash`, to be read.
    @inline(__always)
    private func prefetchForRead(_ hash: Hash128) {
        for row in 0..<depth { warmset_prefetch(address(index(hash, row: row))) }
    }

    /// The additive error bound ε·N, rounded up.
    public var errorBound: UInt64 { UInt64((parameters.epsilon * totalWeight).rounded(.up)) }
    /// The additive error bound ε·N, in weight units.
    public var errorBoundWeight: Double { parameters.epsilon * totalWeight }

    /// Adds every counter of `other` to this one (same parameters and update rule).
    /// - Complexity: O(d·w).
    func add(contentsOf other: CountMinSketch<Cell>) {
        precondition(other.parameters == parameters)
        if let to = requestCells, let from = other.requestCells {
            to.add(contentsOf: from)
        } else {
            for i in 0..<cellCount { store(i, load(i).saturatingAdd(other.load(i))) }
        }
        totalWeight += other.totalWeight
    }

    /// Adds little-endian cells (as a sketch file holds them) to the counters.
    /// - Complexity: O(d·w).
    func add(littleEndianCells bytes: UnsafeRawBufferPointer, total: Double) {
        precondition(bytes.count == cellCount * Cell.kind.byteWidth)
        guard let base = bytes.baseAddress else { return }
        let step = Cell.kind.byteWidth
        for i in 0..<cellCount {
            store(i, load(i).saturatingAdd(Cell.loadLittleEndian(from: base, at: i &* step)))
        }
        totalWeight += total
    }

    /// Appends the counters little-endian, row by row.
    /// - Complexity: O(d·w).
    func appendLittleEndianCells(to out: inout [UInt8]) {
        let step = Cell.kind.byteWidth
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: cellCount * step))
        out.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in 0..<cellCount { load(i).storeLittleEndian(to: base, at: start + i &* step) }
        }
    }

    /// A copy of one counter, for tests and diagnostics.
    public func cell(row: Int, column: Int) -> Cell { load(row * width + column) }

    /// Estimated number of distinct keys, by linear counting over the first row; nil when
    /// the row is full (more distinct keys than it can tell).
    /// - Complexity: O(w).
    public func distinctEstimate() -> Double? {
        var zeros = 0
        if let requestCells {
            zeros = requestCells.zeros(width)
        } else {
            for i in 0..<width where load(i) == .zero { zeros += 1 }
        }
        if zeros == 0 { return nil }
        return -Double(width) * log(Double(zeros) / Double(width))
    }
}

extension CountMinSketch where Cell == Double {
    /// Multiplies every counter and the total by `factor` (forward decay's renormalization;
    /// the factors used are powers of two, so this is exact until values become subnormal).
    /// - Complexity: O(d·w).
    func scale(by factor: Double) {
        for i in 0..<cellCount { store(i, load(i) * factor) }
        totalWeight *= factor
    }
}

extension CountMinSketch where Cell == Double {
    /// Adds little-endian cells multiplied by `factor` (a decayed sketch with an older
    /// landmark being brought to this one's).
    /// - Complexity: O(d·w).
    func add(littleEndianCells bytes: UnsafeRawBufferPointer, total: Double, scaledBy factor: Double) {
        if factor == 1 {
            add(littleEndianCells: bytes, total: total)
            return
        }
        precondition(bytes.count == cellCount * 8)
        guard let base = bytes.baseAddress else { return }
        for i in 0..<cellCount {
            store(i, load(i) + Double.loadLittleEndian(from: base, at: i &* 8) * factor)
        }
        totalWeight += total * factor
    }
}
