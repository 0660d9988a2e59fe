import WarmsetFormat
import WarmsetSketch

/// Requests per time bucket, for the report's "requests over time".
public struct Timeline: Codable, Sendable, Equatable {
    /// Bucket width in seconds.
    public var bucketSeconds: Int64
    /// Counted requests per bucket start (epoch seconds), sorted.
    public var buckets: [Int64: Int]

    /// An empty timeline of one-minute buckets.
    public init(bucketSeconds: Int64 = 60) {
        self.bucketSeconds = bucketSeconds
        buckets = [:]
    }

    /// The buckets merged into at most `count` wider ones, in time order.
    public func coarsened(to count: Int) -> [(start: Int64, requests: Int)] {
        guard let first = buckets.keys.min(), let last = buckets.keys.max(), count > 0 else { return [] }
        let span = last - first + bucketSeconds
        var width = bucketSeconds
        while span / width > Int64(count) { width *= 2 }
        var merged: [Int64: Int] = [:]
        for (start, n) in buckets { merged[first + (start - first) / width * width, default: 0] += n }
        return merged.sorted { $0.key < $1.key }.map { (start: $0.key, requests: $0.value) }
    }
}

/// Hands each counted request to the counter with its weight and time, and records the
/// timeline for the report. Used only when weighting, decaying or reporting, so the plain
/// request-count path stays one call with no time parsing.
final class RequestWeigher {
    private let weight: SketchWeight
    private let weighted: (any WeightedKeyCounter)?
    private let plain: any KeyCounter
    private let needsTime: Bool
    private let recordsTimeline: Bool
    /// Requests per minute (when reporting).
    private(set) var timeline = Timeline()
    private var bucket: Int64 = .min
    private var bucketCount = 0
    /// Requests counted with weight 0 because the line lacked the weight's field.
    private(set) var unweighted = 0
    /// Requests with no readable time (decayed as if at the newest time).
    private(set) var untimed = 0

    init(counter: any KeyCounter, configuration: AnalysisConfiguration) {
        weight = configuration.weight
        plain = counter
        weighted = configuration.isWeighted ? counter as? any WeightedKeyCounter : nil
        recordsTimeline = configuration.report != nil
        needsTime = configuration.halfLifeSeconds != nil || recordsTimeline
    }

    /// True when a weigher is needed at all.
    static func isNeeded(_ configuration: AnalysisConfiguration) -> Bool {
        configuration.isWeighted || configuration.report != nil
    }

    /// Counts one request.
    /// - Complexity: O(1) plus the counter's add; parses the time only when needed.
    @inline(__always)
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        let time = needsTime ? fields.epochSeconds : nil
        if recordsTimeline, let time {
            let start = time - ((time % 60) + 60) % 60
            if start != bucket {
                flush()
                bucket = start
            }
            bucketCount += 1
        }
        guard let weighted else {
            plain.add(key: key, path: path, bytes: fields.bytes)
            return
        }
        if needsTime && time == nil { untimed += 1 }
        let w: Double
        switch weight {
        case .requests: w = 1
        case .bytes: w = fields.bytes > 0 ? Double(fields.bytes) : 0
        case .time:
            let seconds = fields.requestSeconds
            if seconds == nil { unweighted += 1 }
            w = max(seconds ?? 0, 0)
        }
        weighted.add(key: key, path: path, bytes: fields.bytes, weight: w, time: time)
    }

    /// Adds the current bucket to the timeline.
    func flush() {
        if bucketCount > 0 { timeline.buckets[bucket, default: 0] += bucketCount }
        bucketCount = 0
    }
}

/// Builds the counter a configuration asks for, with any sketch inputs merged in.
enum CounterFactory {
    /// The counter, and the sketch inputs merged into it.
    /// - Throws: `ConfigurationError` when sketch inputs do not fit the configuration,
    ///   `SketchError` when they do not fit each other.
    /// - Parameter withLogs: log inputs will be counted into the same counter.
    static func make(
        _ c: AnalysisConfiguration, sketches: [(path: String, snapshot: SketchSnapshot)], withLogs: Bool = false
    ) throws -> any KeyCounter {
        if c.exact {
            guard sketches.isEmpty else {
                throw ConfigurationError("\(sketches[0].path) is a sketch, and sketches cannot be counted exactly; drop --exact")
            }
            return ExactCounter(seed: c.sketch.seed, weighted: c.isWeighted, halfLifeSeconds: c.halfLifeSeconds)
        }
        let fresh: any MergeableCounter
        if let (path, first) = sketches.first {
            // Sketch inputs set the shape, unless the command line gave one that differs.
            let wanted = SketchCounters.empty(like: first, capacity: 2 * c.top)
            let settings = describe(c)
            if first.weight != c.weight || first.halfLifeSeconds != (c.halfLifeSeconds ?? 0) {
                throw ConfigurationError(
                    "\(path) was counted with --weight \(first.weight)\(first.halfLifeSeconds > 0 ? " --half-life \(first.halfLifeSeconds)s" : ""), but this run asks for \(settings); give the same --weight and --half-life as when it was made")
            }
            if c.sketchSizeGiven && (first.parameters.depth != c.sketch.depth || first.parameters.widthLog2 != c.sketch.widthLog2) {
                throw ConfigurationError(
                    "\(path) is a \(first.parameters.depth)×\(first.parameters.width) sketch, but --sketch-memory/--epsilon asks for \(c.sketch.depth)×\(c.sketch.width); drop them to use the sketch's shape")
            }
            if withLogs && first.conservative != c.conservativeUpdate {
                throw ConfigurationError(
                    "\(path) was counted with --update \(first.conservative ? "conservative" : "plain"), and the logs given with it would be counted into it with --update \(c.conservativeUpdate ? "conservative" : "plain"); give --update \(first.conservative ? "conservative" : "plain")")
            }
            fresh = wanted
        } else if c.isWeighted {
            fresh = WeightedSketchCounter(
                parameters: c.sketchSizeGiven ? c.sketch : c.sketch.halvedForWideCells, top: c.top,
                conservative: c.conservativeUpdate, weight: c.weight, halfLifeSeconds: c.halfLifeSeconds)
        } else {
            fresh = SketchCounter(parameters: c.sketch, top: c.top, conservative: c.conservativeUpdate)
        }
        for (path, snapshot) in sketches { try fresh.merge(snapshot, name: path) }
        return fresh
    }

    static func describe(_ c: AnalysisConfiguration) -> String {
        "--weight \(c.weight)" + (c.halfLifeSeconds.map { " --half-life \($0)s" } ?? "")
    }
}
