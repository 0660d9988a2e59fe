import Dispatch
import Foundation
import Synchronization
import WarmsetInput
import WarmsetKeys
import WarmsetSketch
import WarmsetSystem

/// The spine's third step: every log read, parsed, keyed and counted by `lanes` lanes
/// (`ParseLane`), and the lanes' counters merged into one.
///
/// One lane reads each input whole on this thread (decoding on a second one, or on this one).
/// Several lanes share each input: one thread inflates (or reads) it into line-aligned chunks
/// dealt to the lanes, each lane parses, keys and counts its chunks into its own counter, and
/// the counters are merged at the end. A lane is run by whichever thread is free (see
/// `LineAlignedChunks`): the parse threads, and the decoding thread itself when its ring of
/// buffers is full. Each lane still sees its chunks in order, one at a time, so the result
/// depends on the lanes, not on the threads or their timing.
///
/// Several lanes count unweighted sketches (the merged sketch is the sum of the lanes'
/// sketches: the same ε·N bound) and unweighted exact tables (the merge is exactly the
/// single-threaded table), or hand requests to a sink per lane that the caller merges in input
/// order (the backtest's recorders, `BacktestRecorder.merged`). Line numbers in malformed
/// samples are renumbered from each chunk's line count, so they match a single-threaded run.
struct LaneRun {
    /// What the lanes found, merged.
    struct Outcome {
        var counter: KeyCounting
        var linesRead = 0
        var malformed = 0
        var samples: [String] = []
        var filtered: [Int]
        var decodedTotal: Int64 = 0
    }

    let configuration: AnalysisConfiguration
    /// The lanes, lane 0 counting into the run's counter.
    let lanes: [ParseLane]
    /// The lanes' counters when there are several, to be merged.
    let counters: KeyCountingLanes?
    /// How many threads parse (this one and `threads - 1` more) besides the decoding thread.
    let threads: Int
    /// How many malformed lines are quoted in the summary.
    let sampleLimit: Int

    /// How many lanes this run can use: 1 when it must stay on one thread.
    static func laneCount(_ configuration: AnalysisConfiguration, counter: KeyCounting, counterOverride: Bool, weighted: Bool) -> Int {
        let threads = configuration.parseThreads
        guard threads > 1, configuration.decodeInBackground, !counterOverride, !weighted,
            configuration.maxLineBytes <= configuration.parallelChunkSize / 4
        else { return 1 }
        return counter.lanes(threads) == nil ? 1 : threads
    }

    /// How many threads parse `lanes` lanes besides the decoding thread (which also parses
    /// when it is ahead): one fewer than the cores for all-gzip input when the user did not
    /// choose (`AnalysisConfiguration.spareCoreForInflate`), inflating being a core's work;
    /// else one per lane.
    static func parseThreads(lanes: Int, _ configuration: AnalysisConfiguration, allGzip: Bool,
                             cores: Int = AnalysisConfiguration.activeCores) -> Int {
        guard configuration.spareCoreForInflate && allGzip else { return lanes }
        return max(1, min(lanes, cores - 1))
    }

    /// The lanes for a run: one counting into `counter` (or handing requests to `sinks[0]`), or
    /// `lanes` when the counter splits, lane 0 with `compiled` and the others compiling their own.
    /// - Parameter sinks: none, or one taking every lane's requests (a serial run's), or one per
    ///   lane (`lanes` of them), each marking its chunks (`KeyedRequestSink.beginChunk(order:)`)
    ///   so that the caller can merge them in input order.
    /// - Throws: `ConfigurationError` (not for a configuration `compiled` came from).
    init(
        _ configuration: AnalysisConfiguration, compiled: CompiledAnalysis, counter: KeyCounting, sinks: [any KeyedRequestSink],
        lanes: Int, threads: Int, sampleLimit: Int
    ) throws {
        precondition(sinks.count <= 1 || sinks.count == lanes, "one sink, or one per lane")
        self.configuration = configuration
        self.sampleLimit = sampleLimit
        let split = lanes > 1 ? counter.lanes(lanes) : nil
        counters = split
        let maxLineBytes = configuration.maxLineBytes
        guard let split else {
            precondition(sinks.count <= 1, "a sink per lane needs a counter that splits")
            self.lanes = [ParseLane(compiled: compiled, counter: counter, sink: sinks.first, maxLineBytes: maxLineBytes, sampleLimit: sampleLimit)]
            self.threads = 1
            return
        }
        self.lanes = try (0..<split.count).map { i in
            precondition(sinks.isEmpty || sinks.count == split.count)
            return ParseLane(
                compiled: i == 0 ? compiled : try CompiledAnalysis(configuration), counter: split[i], sink: sinks.isEmpty ? nil : sinks[i],
                maxLineBytes: maxLineBytes, sampleLimit: sampleLimit)
        }
        self.threads = max(1, min(threads, split.count))
    }

    /// Reads every log; appends each one's entry to `summary`.
    /// - Parameter progress: called on this thread as the reading goes, with the on-disk bytes
    ///   consumed over all inputs and the lines counted so far.
    func run(
        _ logs: [(path: String, source: (any ByteSource)?)], summary: inout AnalysisSummary,
        progress: (_ consumed: Int64, _ lines: Int) -> Void
    ) -> Outcome {
        var outcome = Outcome(counter: lanes[0].counter, filtered: [Int](repeating: 0, count: RequestFilter.Reason.allCases.count))
        var consumedBefore: Int64 = 0
        let reader = LineReader(maxLineBytes: configuration.maxLineBytes)
        for (fileOrder, (path, maybeSource)) in logs.enumerated() {
            guard let source = maybeSource else { continue }
            for lane in lanes { lane.beginFile() }
            let linesBefore = outcome.linesRead
            let decoded: Int64
            if counters == nil {
                decoded = readSerially(source, reader: reader) { consumed, lines in
                    progress(consumedBefore + consumed, linesBefore + lines)
                }
            } else {
                decoded = readInLanes(source, fileOrder: fileOrder) { consumed, lines in
                    progress(consumedBefore + consumed, linesBefore + lines)
                }
            }
            let file = ParseLane.fileLines(lanes, path: path, limit: sampleLimit)
            outcome.samples += file.samples.prefix(max(0, sampleLimit - outcome.samples.count))
            outcome.linesRead += file.lines
            outcome.decodedTotal += decoded
            consumedBefore += source.compressedBytesConsumed
            summary.recordRead(path, source: source, decoded: decoded, lines: file.lines, error: lanes.lazy.compactMap(\.error).first)
        }

        // Each lane passes its batched hits on to its own counter: at once, one lane a thread.
        let lanes = self.lanes
        Parallel.forEach(lanes.count) { lanes[$0].finish() }
        for lane in lanes {
            outcome.malformed += lane.malformed
            for i in outcome.filtered.indices { outcome.filtered[i] += lane.filtered[i] }
        }
        if let counters { outcome.counter = counters.merged(marks: lanes.map(\.marks)) }
        return outcome
    }

    /// One lane reads `source` whole; returns the bytes decoded.
    private func readSerially(_ source: any ByteSource, reader: LineReader, progress: (Int64, Int) -> Void) -> Int64 {
        // Decode on a second thread (inflate overlaps parsing), or on this one.
        let chunks: any ChunkSource = configuration.decodeInBackground ? PrefetchedChunks(source) : DirectChunks(source)
        lanes[0].read(chunks, with: reader) { lines in progress(chunks.compressedBytesConsumed, lines) }
        return chunks.decodedBytes
    }

    /// The lanes share `source`'s chunks on `threads` threads; returns the bytes decoded.
    private func readInLanes(_ source: any ByteSource, fileOrder: Int, progress: (Int64, Int) -> Void) -> Int64 {
        let lanes = self.lanes
        let chunks = LineAlignedChunks(source, lanes: lanes.count, chunkSize: configuration.parallelChunkSize) { lane, chunk in
            lanes[lane].process(chunk, fileOrder: fileOrder)
        }
        let done = DispatchSemaphore(value: 0)
        let joined = JoinedThreads()
        for index in 1..<threads {
            let thread = Thread {
                ParseLane.drain(chunks, lanes: lanes, fileOrder: fileOrder) {}
                joined.leave()
                done.signal()
            }
            thread.name = "warmset-parse-\(index)"
            thread.start()
        }
        ParseLane.drain(chunks, lanes: lanes, fileOrder: fileOrder) {
            progress(chunks.compressedBytesConsumed, chunks.linesDone)
        }
        for _ in 1..<threads { done.wait() }
        joined.join(threads - 1)
        chunks.waitUntilFinished()
        return chunks.decodedBytes
    }
}

/// The parse threads of a file, counted out: what each lane thread wrote is visible to the
/// thread that joins them, by the atomic's release and acquire (the semaphore that waits for
/// them orders nothing that ThreadSanitizer, or the memory model, is told of).
private final class JoinedThreads: Sendable {
    private let left = Atomic<Int>(0)

    /// Called by a thread as its last step.
    func leave() { left.add(1, ordering: .releasing) }

    /// Called after the threads signalled their end: every write they made is visible after it.
    func join(_ count: Int) {
        while left.load(ordering: .acquiring) < count {}
    }
}
