import WarmsetModel
import WarmsetFormat
import WarmsetKeys
import WarmsetSketch

/// The analysis pipeline fed one line at a time, for a process that counts a live stream and
/// ranks it now and then (`warmset watch`).
///
/// The per-line steps are `Analyzer.run`'s own (`LineSteps`: parse → filter → key → count, with
/// the same weigher for `--weight`/`--half-life`). The counter can start from a checkpointed
/// sketch, so a restarted process counts on where the last one stopped.
public final class LiveAnalysis {
    /// The configuration (its `inputs` are not read here).
    public let configuration: AnalysisConfiguration
    private let compiled: CompiledAnalysis
    private let counter: KeyCounting
    private let weigher: RequestWeigher?
    private var steps: LineSteps
    /// Lines handed to `count` since this object was made.
    public private(set) var linesRead = 0
    /// Lines that did not parse.
    public private(set) var linesMalformed = 0
    /// Lines parsed but filtered out or without a key.
    public var linesFiltered: Int { steps.filteredTotal }

    /// Compiles `configuration` and makes its counter, restored from `checkpoint` when given.
    /// - Parameter checkpoint: a sketch saved by an earlier run (with its file name, for errors).
    /// - Throws: `ConfigurationError` for a bad configuration or a checkpoint counted with other
    ///   settings; `SketchError` for a damaged one.
    public init(_ configuration: AnalysisConfiguration, checkpoint: (name: String, snapshot: SketchSnapshot)? = nil) throws {
        self.configuration = configuration
        compiled = try CompiledAnalysis(configuration)
        counter = try CounterFactory.make(configuration, sketches: checkpoint.map { [($0.name, $0.snapshot)] } ?? [], withLogs: true)
        weigher = RequestWeigher.isNeeded(configuration) ? RequestWeigher(counter: counter, configuration: configuration) : nil
        steps = LineSteps(compiled, counter: counter, sink: weigher)
    }

    /// Counts one log line (without its newline).
    /// - Complexity: as one line of `Analyzer.run`: O(line length) plus the counter's add.
    public func count(_ line: UnsafeRawBufferPointer) {
        linesRead += 1
        if steps.process(line) != nil { linesMalformed += 1 }
    }

    /// The current warm set, chosen by the configuration's rules (`--top`, `--coverage`…),
    /// with rule captures filled in.
    /// - Complexity: O(c log c) for the c keys tracked.
    public func ranked() -> [RankedKey] {
        weigher?.flush()
        let stats = counter.stats
        return compiled.withCaptures(Selection.choose(from: counter.keyCounter, stats: stats, configuration: configuration).keys)
    }

    /// The counter's totals.
    public var stats: CounterStats { counter.stats }

    /// The counter's state for a checkpoint; nil in exact mode.
    public func snapshot() -> SketchSnapshot? {
        counter.snapshot()
    }
}
