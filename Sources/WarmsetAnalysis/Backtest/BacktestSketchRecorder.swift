import WarmsetFormat
import WarmsetModel
import WarmsetSketch

/// Sketch mode's one pass (`--sketch-memory`): memory bounded by the sketches and the windows,
/// not by the requests.
///
/// The deploy times are known before reading (sketch mode needs `--at`), so each request is
/// placed as it is read: at or before a deploy time T it is added to each strategy's counter
/// for T with the strategy's weight (`BacktestStrategy.weight(ofRequestAt:deployAt:windowSeconds:)`,
/// the same definition the exact scores use); in T's window (T, T+window] it is recorded
/// exactly, as the exact mode records every request. The warm sets then come from the counters
/// (a count-min sketch and a candidate set, analyze's `WeightedSketchCounter`), and every
/// figure is measured on the exact window: only the choice of keys carries the sketch's error.
final class BacktestSketchRecorder: BacktestSink {
    /// One deploy time: a counter per strategy, and its window's requests.
    struct Deploy {
        /// T, epoch seconds.
        let at: Int64
        /// One counter per strategy, in the configuration's order.
        let counters: [WeightedSketchCounter]
        /// The requests of (T, T+window], exactly.
        let window: BacktestRecorder
    }

    /// The deploy times, in the configuration's order.
    let deploys: [Deploy]
    private let strategies: [BacktestStrategy]
    private let windowSeconds: Int64
    /// The last line's time, parsed once per second of log.
    private var clock = LogTimeMemo()
    /// Requests counted with a readable time, and those without.
    private(set) var count = 0
    private(set) var untimed = 0
    /// The oldest and newest log time seen.
    private(set) var oldest = Int64.max
    private(set) var newest = Int64.min
    /// Distinct keys seen (estimated by the first counter's sketch; nil when saturated).
    var distinctEstimate: Double? { deploys.first?.counters.first?.sketch.distinctEstimate() }

    /// Counters for each of `configuration`'s deploy times and strategies, sharing
    /// `configuration.sketchMemoryBytes` evenly.
    init(_ configuration: BacktestConfiguration, sketchMemoryBytes: Int) {
        strategies = configuration.strategies
        windowSeconds = configuration.windowSeconds
        let parameters = Self.parameters(configuration, sketchMemoryBytes: sketchMemoryBytes)
        let largest = configuration.tops.max() ?? 1
        deploys = configuration.at.map { at in
            Deploy(
                at: at,
                counters: configuration.strategies.map { _ in
                    WeightedSketchCounter(parameters: parameters, top: largest, weight: .requests, halfLifeSeconds: nil)
                },
                window: BacktestRecorder())
        }
    }

    /// Each counter's sketch shape: the memory split over deploy times × strategies, in
    /// 8-byte cells.
    static func parameters(_ configuration: BacktestConfiguration, sketchMemoryBytes: Int) -> SketchParameters {
        let counters = max(1, configuration.at.count * configuration.strategies.count)
        return .forMemory(bytes: max(1024, sketchMemoryBytes / counters), cellBytes: 8)
    }

    /// Places one counted request.
    /// - Complexity: O(deploy times × strategies × sketch depth) plus the key's length.
    func add(_ fields: RequestFields, key: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) {
        guard let time = clock.epochSeconds(fields) else {
            untimed += 1
            return
        }
        count += 1
        if time < oldest { oldest = time }
        if time > newest { newest = time }
        for deploy in deploys {
            if time <= deploy.at {
                for (i, strategy) in strategies.enumerated() {
                    let w = strategy.weight(ofRequestAt: time, deployAt: deploy.at, windowSeconds: windowSeconds)
                    if w > 0 { deploy.counters[i].add(key: key, path: path, bytes: fields.bytes, weight: w, time: nil) }
                }
            } else if time <= deploy.at + windowSeconds {
                deploy.window.record(time: time, key: key, path: path)
            }
        }
    }

    /// Bytes held by the counters and the windows.
    var memoryBytes: Int {
        deploys.reduce(0) { sum, d in sum + d.window.memoryBytes + d.counters.reduce(0) { $0 + $1.stats.memoryBytes } }
    }
}

/// What sketch mode's counting may have got wrong for one deploy time and strategy.
///
/// Each key's score is over-estimated by at most `errorBound` (ε·N, in the strategy's score
/// units) with probability at least 1 − δ; a key that never became a candidate scored at most
/// `missBound`. The figures measured on the window are exact for the warm set chosen: the
/// bounds say how far that choice may be from the exact one (keys whose scores lie within the
/// bound of the N-th key's may be swapped).
public struct BacktestSketchBound: Sendable, Equatable {
    /// T, epoch seconds.
    public var at: Int64
    /// The strategy, as given to `--strategy`.
    public var strategy: String
    /// ε·N: the most a score is over-estimated, with probability 1 − δ.
    public var errorBound: Double
    /// The score total N the bound is a share of.
    public var scoreTotal: Double
    /// ε and δ of the sketch.
    public var epsilon: Double
    public var delta: Double
    /// Bytes the counter holds (sketch and candidates).
    public var memoryBytes: Int
}
