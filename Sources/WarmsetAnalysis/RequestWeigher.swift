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
/// timeline for the report. Used only when weighting, decaying, choosing by `--strategy` or
/// reporting, so the plain request-count path stays one call with no time parsing.
final class RequestWeigher: KeyedRequestSink {
    private let weight: SketchWeight
    private let weighted: (any WeightedKeyCounter)?
    private let plain: any KeyCounter
    private let needsTime: Bool
    private let recordsTimeline: Bool
    /// `--strategy`: each request's weight also by its log time relative to the deploy time.
    private let strategy: DeployStrategy?
    /// The last line's time, parsed once per second of log (as the backtest's recorder does).
    private var clock = LogTimeMemo()
    /// Requests per minute (when reporting).
    private(set) var timeline = Timeline()
    private var bucket: Int64 = .min
    private var bucketCount = 0
    /// Requests counted with weight 0 because the line lacked the weight's field.
    private(set) var unweighted = 0
    /// Requests with no readable time (decayed as if at the newest time; with a strategy, left out).
    private(set) var untimed = 0
    /// `--strategy`: requests logged after the deploy time, left out.
    private(set) var afterDeploy = 0
    /// `--strategy`: requests at or before the deploy time that the strategy weighs 0 (before
    /// `--history`, outside season's windows), left out.
    private(set) var outsideStrategy = 0
    /// `--weight time`: requests whose `$request_time` was 0 (counted with `zeroTimeWeight`).
    private(set) var zeroTime = 0

    /// What a request logged with a `$request_time` of 0 weighs under `--weight time`: so
    /// little that every key that cost time ranks first (a request time is logged to the
    /// millisecond, and 2^-40 s per request adds up to 1 ms only past 10^9 requests), and
    /// enough that the keys that cost none still rank, by requests, after them. A log of
    /// cached responses, every time 0.000, thus yields its keys by request count.
    static let zeroTimeWeight = 0x1p-40

    init(counter: KeyCounting, configuration: AnalysisConfiguration) {
        weight = configuration.weight
        plain = counter.keyCounter
        weighted = configuration.isWeighted ? counter.weighted : nil
        recordsTimeline = configuration.report != nil
        strategy = configuration.strategy
        needsTime = configuration.halfLifeSeconds != nil || strategy != nil || recordsTimeline
    }

    /// True when a weigher is needed at all.
    static func isNeeded(_ configuration: AnalysisConfiguration) -> Bool {
        configuration.isWeighted || configuration.report != nil
    }

    /// Counts one request.
    /// - Complexity: O(1) plus the counter's add; parses the time only when needed.
    @inline(__always)
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        let time = needsTime ? clock.epochSeconds(fields) : nil
        guard let weighted else {
            if recordsTimeline, let time { tally(time) }
            plain.add(key: key, path: path, bytes: fields.bytes)
            return
        }
        if needsTime && time == nil { untimed += 1 }
        var w: Double = 1
        if let strategy {
            // Left out, as the backtest leaves them out: a request with no time cannot be placed
            // before or after T, and one of weight 0 would still rank its key.
            guard let time else { return }
            w = strategy.strategy.weight(ofRequestAt: time, deployAt: strategy.at, windowSeconds: strategy.windowSeconds)
            guard w > 0 else {
                if time > strategy.at { afterDeploy += 1 } else { outsideStrategy += 1 }
                return
            }
        }
        // A strategy's weight times --weight's: bytes or time in the strategy's windows.
        switch weight {
        case .requests: break
        case .bytes: w *= fields.bytes > 0 ? Double(fields.bytes) : 0
        case .time:
            if let seconds = fields.requestSeconds {
                if seconds > 0 {
                    w *= seconds
                } else {
                    zeroTime += 1
                    w *= Self.zeroTimeWeight
                }
            } else {
                unweighted += 1
                w = 0
            }
        }
        if recordsTimeline, let time { tally(time) }
        weighted.add(key: key, path: path, bytes: fields.bytes, weight: w, time: time)
    }

    /// Counts a counted request in its minute of the timeline (only counted requests: with
    /// `--strategy`, not those after T or outside the strategy's windows).
    @inline(__always)
    private func tally(_ time: Int64) {
        let start = time - ((time % 60) + 60) % 60
        if start != bucket {
            flush()
            bucket = start
        }
        bucketCount += 1
    }

    /// What the summary says about the weights: requests that weighed nothing, had no time,
    /// or cost no time.
    var notes: [String] {
        var notes: [String] = []
        if unweighted > 0 { notes.append("\(unweighted) requests had no readable $request_time and weighed 0") }
        if let strategy {
            notes.append("ranked by --strategy \(strategy): each request's weight is the backtest's for a deploy at that time (docs/backtest.md)")
            if untimed > 0 { notes.append("\(untimed) requests had no readable time and were left out (they cannot be placed before or after --at)") }
            if afterDeploy > 0 { notes.append("\(afterDeploy) requests were logged after --at \(Backtest.iso8601(strategy.at)) and were not counted") }
            if outsideStrategy > 0 {
                var why = ""
                if case .recent = strategy.strategy {
                    // 2^((t−T)/H) is below the smallest double past 1,074 half-lives.
                    why = " (logged over 1,074 half-lives before it, their weight is below the smallest number; give an --at nearer the logs' end)"
                }
                notes.append("\(outsideStrategy) requests logged before --at weigh 0 under \(strategy.strategy) and were not counted\(why)")
            }
        } else if untimed > 0 {
            notes.append("\(untimed) requests had no readable time and were decayed as if logged last")
        }
        if zeroTime > 0 {
            notes.append("\(zeroTime) counted requests had a $request_time of 0; their keys rank by requests, after the keys that cost time")
        }
        return notes
    }

    /// Adds the current bucket to the timeline.
    func flush() {
        if bucketCount > 0 { timeline.buckets[bucket, default: 0] += bucketCount }
        bucketCount = 0
    }
}
