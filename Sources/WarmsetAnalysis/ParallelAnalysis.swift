import Dispatch
import Foundation
import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch

/// Parsing on several threads: one inflates (or reads) each input into line-aligned chunks,
/// `lanes` workers each parse, key and count every `lanes`-th chunk into their own counter,
/// and the counters are merged at the end.
///
/// Used for unweighted sketch counting (the merged sketch is the sum of the workers'
/// sketches: the same ε·N bound) and for unweighted exact counting (the merge is exactly
/// the single-threaded table). Line numbers in malformed samples are renumbered from each
/// chunk's line count, so they match a single-threaded run.
enum ParallelAnalysis {
    /// How many parse workers this run can use: 1 when it must stay on one thread.
    /// - Parameters:
    ///   - allGzip: every input is gzip (see `AnalysisConfiguration.spareCoreForInflate`).
    ///   - cores: the machine's cores.
    static func lanes(
        _ configuration: AnalysisConfiguration, counter: any KeyCounter, counterOverride: (any KeyCounter)?, weighted: Bool,
        allGzip: Bool = false, cores: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> Int {
        var threads = configuration.parseThreads
        if configuration.spareCoreForInflate && allGzip { threads = min(threads, max(1, cores - 1)) }
        guard threads > 1, configuration.decodeInBackground, counterOverride == nil, !weighted,
            configuration.maxLineBytes <= configuration.parallelChunkSize / 4
        else { return 1 }
        if counter is SketchCounter { return threads }
        if let exact = counter as? ExactCounter, !exact.stats.weighted, exact.tracksEveryKey { return threads }
        return 1
    }

    /// What the workers found, merged.
    struct Outcome {
        var counter: any KeyCounter
        var linesRead = 0
        var malformed = 0
        var samples: [String] = []
        var filtered: [Int]
        var decodedTotal: Int64 = 0
    }

    /// Reads every source with `lanes` workers; appends each input's entry to `summary`.
    /// - Parameters:
    ///   - compiled: worker 0's parser and key builder (the others compile their own).
    ///   - counter: worker 0's counter, a `SketchCounter` or an unweighted `ExactCounter`.
    ///   - progress: called by worker 0 after each of its chunks, with the on-disk bytes
    ///     consumed over all inputs and an estimate of the lines read.
    static func run(
        _ sources: [(path: String, source: (any ByteSource)?)], lanes: Int, configuration: AnalysisConfiguration,
        compiled: CompiledAnalysis, counter: any KeyCounter, sampleLimit: Int, summary: inout AnalysisSummary,
        progress: (_ consumed: Int64, _ lines: Int) -> Void
    ) throws -> Outcome {
        var workers = [ParseWorker(compiled: compiled, counter: counter, maxLineBytes: configuration.maxLineBytes, sampleLimit: sampleLimit)]
        for _ in 1..<lanes {
            let other: any KeyCounter
            if let sketch = counter as? SketchCounter {
                other = sketch.emptyCopy()
            } else {
                other = ExactCounter(seed: configuration.sketch.seed)
            }
            workers.append(ParseWorker(
                compiled: try CompiledAnalysis(configuration), counter: other, maxLineBytes: configuration.maxLineBytes,
                sampleLimit: sampleLimit))
        }
        var outcome = Outcome(counter: counter, filtered: [Int](repeating: 0, count: RequestFilter.Reason.allCases.count))
        var consumedBefore: Int64 = 0
        for (fileOrder, (path, maybeSource)) in sources.enumerated() {
            guard let source = maybeSource else { continue }
            let chunks = LineAlignedChunks(source, lanes: lanes, chunkSize: configuration.parallelChunkSize)
            let done = DispatchSemaphore(value: 0)
            for lane in 1..<lanes {
                let worker = workers[lane]
                let thread = Thread {
                    worker.run(chunks, lane: lane, fileOrder: fileOrder) {}
                    done.signal()
                }
                thread.name = "warmset-parse-\(lane)"
                thread.start()
            }
            let linesBefore = outcome.linesRead
            let first = workers[0]
            first.run(chunks, lane: 0, fileOrder: fileOrder) {
                progress(consumedBefore + chunks.compressedBytesConsumed, linesBefore + first.fileLines * lanes)
            }
            for _ in 1..<lanes { done.wait() }
            chunks.waitUntilFinished()

            // Renumber: each chunk's first line follows the lines of every chunk before it.
            var perChunk = workers.flatMap(\.chunkLines)
            perChunk.sort { $0.sequence < $1.sequence }
            var firstLine: [Int: Int] = [:]
            var lines = 0
            for chunk in perChunk {
                firstLine[chunk.sequence] = lines
                lines += chunk.lines
            }
            var samples = workers.flatMap(\.samples)
            samples.sort { ($0.sequence, $0.line) < ($1.sequence, $1.line) }
            for sample in samples where outcome.samples.count < sampleLimit {
                outcome.samples.append("\(path):\((firstLine[sample.sequence] ?? 0) + sample.line): \(sample.text)")
            }
            var failure: String?
            if let error = workers.lazy.compactMap(\.error).first {
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

        for worker in workers {
            outcome.malformed += worker.malformed
            for i in outcome.filtered.indices { outcome.filtered[i] += worker.filtered[i] }
        }
        if let sketch = counter as? SketchCounter {
            for worker in workers.dropFirst() {
                if let other = worker.counter as? SketchCounter { sketch.absorb(other) }
            }
        } else {
            let shares: [ExactCounter.WorkerShare] = workers.compactMap { worker in
                (worker.counter as? ExactCounter).map { (counter: $0, marks: worker.marks) }
            }
            outcome.counter = ExactCounter.merged(shares, seed: configuration.sketch.seed)
        }
        return outcome
    }
}

/// One parse worker: its own parser, key builder and counter, and what it found.
final class ParseWorker: @unchecked Sendable {
    // @unchecked Sendable: a worker is used by one thread at a time; the threads are joined
    // (a semaphore) before another reads its results. `fileLines` is read by worker 0's
    // thread for progress only.
    let compiled: CompiledAnalysis
    let counter: any KeyCounter
    private let exact: ExactCounter?
    let maxLineBytes: Int
    let sampleLimit: Int
    /// Exact mode: for each chunk, its order in the whole run and the counter's key count before it.
    var marks: [(order: Int, firstKey: Int)] = []
    var filtered = [Int](repeating: 0, count: RequestFilter.Reason.allCases.count)
    var malformed = 0
    /// This file: the lines of each chunk counted.
    var chunkLines: [(sequence: Int, lines: Int)] = []
    /// This file: the first malformed lines, numbered within their chunk.
    var samples: [(sequence: Int, line: Int, text: String)] = []
    /// This file: the lines counted so far.
    var fileLines = 0
    /// This file: the input error that ended this worker's lane.
    var error: InputError?

    init(compiled: CompiledAnalysis, counter: any KeyCounter, maxLineBytes: Int, sampleLimit: Int) {
        self.compiled = compiled
        self.counter = counter
        exact = counter as? ExactCounter
        self.maxLineBytes = maxLineBytes
        self.sampleLimit = sampleLimit
    }

    /// Parses, keys and counts every chunk of `lane`.
    func run(_ chunks: LineAlignedChunks, lane: Int, fileOrder: Int, afterChunk: () -> Void) {
        chunkLines = []
        samples = []
        fileLines = 0
        error = nil
        // Locals, not properties, in the per-line loop: no exclusivity checks per line.
        var steps = LineSteps(compiled, counter: counter, batchHits: true)
        steps.filtered = self.filtered
        let maxLineBytes = self.maxLineBytes
        let sampleLimit = self.sampleLimit
        var malformed = self.malformed
        var samples: [(sequence: Int, line: Int, text: String)] = []
        var chunkLines: [(sequence: Int, lines: Int)] = []
        var fileLines = 0
        do {
            while let chunk = try chunks.next(lane: lane) {
                if let exact { marks.append((order: fileOrder << 40 | chunk.sequence, firstKey: exact.keyCount)) }
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
                chunkLines.append((sequence, lines))
                fileLines += lines
                self.fileLines = fileLines
                afterChunk()
            }
        } catch {
            self.error = error
        }
        steps.finish()
        self.filtered = steps.filtered
        self.malformed = malformed
        self.samples = samples
        self.chunkLines = chunkLines
    }
}
