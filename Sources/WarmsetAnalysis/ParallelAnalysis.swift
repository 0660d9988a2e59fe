import Dispatch
import Foundation
import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch

/// Parsing on several threads: one inflates (or reads) each input into line-aligned chunks
/// dealt to `lanes` lanes, each lane parses, keys and counts its chunks into its own counter
/// (its own `ParseLane`), and the counters are merged at the end.
///
/// A lane is run by whichever thread is free (see `LineAlignedChunks`): the parse threads,
/// and the decoding thread itself when its ring of buffers is full. Each lane still sees
/// its chunks in order, one at a time, so the result depends on the lanes, not on the
/// threads or their timing.
///
/// Used for unweighted sketch counting (the merged sketch is the sum of the lanes'
/// sketches: the same ε·N bound) and for unweighted exact counting (the merge is exactly
/// the single-threaded table). Line numbers in malformed samples are renumbered from each
/// chunk's line count, so they match a single-threaded run.
enum ParallelAnalysis {
    /// How many lanes this run can use: 1 when it must stay on one thread.
    static func lanes(_ configuration: AnalysisConfiguration, counter: any KeyCounter, counterOverride: (any KeyCounter)?, weighted: Bool) -> Int {
        let threads = configuration.parseThreads
        guard threads > 1, configuration.decodeInBackground, counterOverride == nil, !weighted,
            configuration.maxLineBytes <= configuration.parallelChunkSize / 4
        else { return 1 }
        if counter is SketchCounter { return threads }
        if let exact = counter as? ExactCounter, !exact.stats.weighted, exact.tracksEveryKey { return threads }
        return 1
    }

    /// How many threads parse `lanes` lanes besides the decoding thread (which also parses
    /// when it is ahead): one fewer than the cores for all-gzip input when the user did not
    /// choose (`AnalysisConfiguration.spareCoreForInflate`), inflating being a core's work;
    /// else one per lane.
    static func parseThreads(lanes: Int, _ configuration: AnalysisConfiguration, allGzip: Bool,
                             cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        guard configuration.spareCoreForInflate && allGzip else { return lanes }
        return max(1, min(lanes, cores - 1))
    }

    /// What the lanes found, merged.
    struct Outcome {
        var counter: any KeyCounter
        var linesRead = 0
        var malformed = 0
        var samples: [String] = []
        var filtered: [Int]
        var decodedTotal: Int64 = 0
    }

    /// Reads every source with `lanes` lanes on `threads` parse threads (this one and
    /// `threads - 1` more) plus the decoding thread; appends each input's entry to `summary`.
    /// - Parameters:
    ///   - compiled: lane 0's parser and key builder (the others compile their own).
    ///   - counter: lane 0's counter, a `SketchCounter` or an unweighted `ExactCounter`.
    ///   - progress: called on this thread after each chunk it parses, with the on-disk bytes
    ///     consumed over all inputs and the lines counted so far.
    static func run(
        _ sources: [(path: String, source: (any ByteSource)?)], lanes: Int, threads: Int, configuration: AnalysisConfiguration,
        compiled: CompiledAnalysis, counter: any KeyCounter, sampleLimit: Int, summary: inout AnalysisSummary,
        progress: (_ consumed: Int64, _ lines: Int) -> Void
    ) throws -> Outcome {
        // Lane 0 counts into `counter`; the others into empty copies, merged into it at the end.
        let parseLanes = try [ParseLane(compiled: compiled, counter: counter, maxLineBytes: configuration.maxLineBytes, sampleLimit: sampleLimit)]
            + (1..<lanes).map { _ in
                let other: any KeyCounter
                if let sketch = counter as? SketchCounter {
                    other = sketch.emptyCopy()
                } else {
                    other = ExactCounter(seed: configuration.sketch.seed)
                }
                return ParseLane(
                    compiled: try CompiledAnalysis(configuration), counter: other, maxLineBytes: configuration.maxLineBytes,
                    sampleLimit: sampleLimit)
            }
        let threads = max(1, min(threads, lanes))
        var outcome = Outcome(counter: counter, filtered: [Int](repeating: 0, count: RequestFilter.Reason.allCases.count))
        var consumedBefore: Int64 = 0
        for (fileOrder, (path, maybeSource)) in sources.enumerated() {
            guard let source = maybeSource else { continue }
            for lane in parseLanes { lane.beginFile() }
            let chunks = LineAlignedChunks(source, lanes: lanes, chunkSize: configuration.parallelChunkSize) { lane, chunk in
                parseLanes[lane].process(chunk, fileOrder: fileOrder)
            }
            let done = DispatchSemaphore(value: 0)
            for index in 1..<threads {
                let thread = Thread {
                    ParseLane.drain(chunks, lanes: parseLanes, fileOrder: fileOrder) {}
                    done.signal()
                }
                thread.name = "warmset-parse-\(index)"
                thread.start()
            }
            let linesBefore = outcome.linesRead
            ParseLane.drain(chunks, lanes: parseLanes, fileOrder: fileOrder) {
                progress(consumedBefore + chunks.compressedBytesConsumed, linesBefore + chunks.linesDone)
            }
            for _ in 1..<threads { done.wait() }
            chunks.waitUntilFinished()

            // Renumber: each chunk's first line follows the lines of every chunk before it.
            var perChunk = parseLanes.flatMap(\.chunkLines)
            perChunk.sort { $0.sequence < $1.sequence }
            var firstLine: [Int: Int] = [:]
            var lines = 0
            for chunk in perChunk {
                firstLine[chunk.sequence] = lines
                lines += chunk.lines
            }
            var samples = parseLanes.flatMap(\.samples)
            samples.sort { ($0.sequence, $0.line) < ($1.sequence, $1.line) }
            for sample in samples where outcome.samples.count < sampleLimit {
                outcome.samples.append("\(path):\((firstLine[sample.sequence] ?? 0) + sample.line): \(sample.text)")
            }
            var failure: String?
            if let error = parseLanes.lazy.compactMap(\.error).first {
                failure = error.description
                summary.partial = true
                summary.errors.append(error.description)
            }
            outcome.linesRead += lines
            outcome.decodedTotal += chunks.decodedBytes
            consumedBefore += source.compressedBytesConsumed
            summary.inputs.append(.init(
                path: path, gzip: source.isGzip, compressedBytes: source.compressedBytesConsumed, bytes: chunks.decodedBytes,
                lines: lines, error: failure))
        }

        for lane in parseLanes {
            lane.finish()
            outcome.malformed += lane.malformed
            for i in outcome.filtered.indices { outcome.filtered[i] += lane.filtered[i] }
        }
        if let sketch = counter as? SketchCounter {
            for lane in parseLanes.dropFirst() {
                if let other = lane.counter as? SketchCounter { sketch.absorb(other) }
            }
        } else {
            let shares: [ExactCounter.WorkerShare] = parseLanes.compactMap { lane in
                (lane.counter as? ExactCounter).map { (counter: $0, marks: lane.marks) }
            }
            outcome.counter = ExactCounter.merged(shares, seed: configuration.sketch.seed)
        }
        return outcome
    }
}

/// One lane: its own parser, key builder and counter, and what it found. Run by one thread
/// at a time (`LineAlignedChunks` hands a lane's chunks out one at a time), not always the same.
final class ParseLane: @unchecked Sendable {
    // @unchecked Sendable: a lane is used by one thread at a time, and the handover goes
    // through `LineAlignedChunks`' lock; the threads are joined (a semaphore, then the
    // decoder's end) before its results are read.
    let compiled: CompiledAnalysis
    let counter: any KeyCounter
    private let exact: ExactCounter?
    let maxLineBytes: Int
    let sampleLimit: Int
    /// The per-line steps, kept across chunks and files (their batched hits are passed on in
    /// `finish()`); moved out while a chunk is read, so the loop works on a local.
    private var steps: LineSteps?
    /// Exact mode: for each chunk, its order in the whole run and the counter's key count before it.
    var marks: [(order: Int, firstKey: Int)] = []
    /// Requests not counted, by reason (complete after `finish()`).
    var filtered: [Int] { steps?.filtered ?? [Int](repeating: 0, count: RequestFilter.Reason.allCases.count) }
    var malformed = 0
    /// This file: the lines of each chunk counted.
    var chunkLines: [(sequence: Int, lines: Int)] = []
    /// This file: the first malformed lines, numbered within their chunk.
    var samples: [(sequence: Int, line: Int, text: String)] = []
    /// This file: the input error that ended this lane.
    var error: InputError?

    init(compiled: CompiledAnalysis, counter: any KeyCounter, maxLineBytes: Int, sampleLimit: Int) {
        self.compiled = compiled
        self.counter = counter
        exact = counter as? ExactCounter
        self.maxLineBytes = maxLineBytes
        self.sampleLimit = sampleLimit
        steps = LineSteps(compiled, counter: counter, batchHits: true, oneLineLate: true)
    }

    /// Runs lanes of `chunks` on this thread until every lane has ended.
    static func drain(_ chunks: LineAlignedChunks, lanes: [ParseLane], fileOrder: Int, afterChunk: () -> Void) {
        var previous: (lane: Int, lines: Int)?
        while let work = chunks.next(releasing: previous?.lane, lines: previous?.lines ?? 0) {
            let lane = lanes[work.lane]
            guard let chunk = work.chunk else {
                if let error = work.error { lane.error = error }
                previous = (work.lane, 0)
                continue
            }
            previous = (work.lane, lane.process(chunk, fileOrder: fileOrder))
            afterChunk()
        }
    }

    /// Forgets the last file's chunks, samples and error.
    func beginFile() {
        chunkLines = []
        samples = []
        error = nil
    }

    /// Parses, keys and counts the lines of `chunk`, the lane's next; returns how many.
    func process(_ chunk: LineChunk, fileOrder: Int) -> Int {
        if let exact { marks.append((order: fileOrder << 40 | chunk.sequence, firstKey: exact.keyCount)) }
        // Locals, not properties, in the per-line loop: no exclusivity checks per line. Moved
        // out (not copied), so appending to them copies nothing.
        guard var steps = steps.take() else { return 0 }
        defer { self.steps = steps }
        let maxLineBytes = self.maxLineBytes
        let sampleLimit = self.sampleLimit
        var malformed = self.malformed
        var samples = self.samples
        self.samples = []
        let sequence = chunk.sequence
        let lines = chunk.forEachLine(
            maxLineBytes: maxLineBytes,
            onOverlong: { lineNumber, length in
                malformed += 1
                if samples.count < sampleLimit {
                    samples.append((sequence, lineNumber, "longer than \(maxLineBytes) bytes (\(length)); skipped"))
                }
            }
        ) { line, lineNumber in
            if let problem = steps.process(line) {
                malformed += 1
                if samples.count < sampleLimit {
                    samples.append((sequence, lineNumber, "\(problem.reason.rawValue) at byte \(problem.byteOffset + 1)"))
                }
            }
        }
        steps.flush()  // the chunk's bytes go back to the ring after this
        self.malformed = malformed
        self.samples = samples
        chunkLines.append((sequence, lines))
        return lines
    }

    /// Passes the batched hits on to the counter: after it the counter has counted every line
    /// of every chunk.
    func finish() {
        guard var steps = steps.take() else { return }
        steps.finish()
        self.steps = steps
    }
}
