import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch

/// One lane of the analysis: its own per-line steps (parser, key builder, counter) and what
/// it found. A serial run is one lane reading each input whole; a parallel run deals chunks to
/// several (see `LaneRun`). Run by one thread at a time, not always the same.
final class ParseLane: @unchecked Sendable {
    // @unchecked Sendable: a lane is used by one thread at a time, and the handover goes
    // through `LineAlignedChunks`' lock; the threads are joined (a semaphore, then the
    // decoder's end) before its results are read.
    let compiled: CompiledAnalysis
    let counter: KeyCounting
    /// Takes each keyed request instead of `counter`, when set.
    let sink: (any KeyedRequestSink)?
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
    /// The key memo's pages are mapped (`prepare()`).
    private var prepared = false

    /// - Parameter sink: takes each keyed request instead of `counter` (the weigher, on serial
    ///   runs only; the backtest's recorder, one per lane).
    init(compiled: CompiledAnalysis, counter: KeyCounting, sink: (any KeyedRequestSink)? = nil, maxLineBytes: Int, sampleLimit: Int) {
        self.compiled = compiled
        self.counter = counter
        self.sink = sink
        self.maxLineBytes = maxLineBytes
        self.sampleLimit = sampleLimit
        steps = LineSteps(compiled, counter: counter, sink: sink, batchHits: true, oneLineLate: true)
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

    /// Before the lane's first line, on the thread that reads it: the key memo's pages mapped
    /// (`KeyBuilder.prepareMemo`), not one by one as the lines first touch them.
    private func prepare() {
        guard !prepared else { return }
        prepared = true
        compiled.keys.prepareMemo()
    }

    /// Parses, keys and counts the lines of `chunk`, the lane's next; returns how many.
    func process(_ chunk: LineChunk, fileOrder: Int) -> Int {
        prepare()
        let order = fileOrder << 40 | chunk.sequence
        if let mark = counter.orderMark { marks.append((order: order, firstKey: mark)) }
        sink?.beginChunk(order: order)
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
                if samples.count < sampleLimit { samples.append((sequence, lineNumber, Self.overlong(length, limit: maxLineBytes))) }
            }
        ) { line, lineNumber in
            if let problem = steps.process(line) {
                malformed += 1
                if samples.count < sampleLimit { samples.append((sequence, lineNumber, Self.describe(problem))) }
            }
        }
        steps.flush()  // the chunk's bytes go back to the ring after this
        self.malformed = malformed
        self.samples = samples
        chunkLines.append((sequence, lines))
        return lines
    }

    /// Parses, keys and counts every line of `chunks` on this thread, as the lane's one chunk
    /// (the serial run); an input error ends the file (`error`), the lines before it counted.
    /// - Parameter afterRead: called after each read with the lines of this file so far.
    func read(_ chunks: any ChunkSource, with reader: LineReader, afterRead: (_ lines: Int) -> Void) {
        prepare()
        guard var steps = steps.take() else { return }
        let maxLineBytes = self.maxLineBytes
        let sampleLimit = self.sampleLimit
        var malformed = self.malformed
        var samples = self.samples
        var lines = 0
        defer {
            self.steps = steps
            self.malformed = malformed
            self.samples = samples
            chunkLines.append((0, lines))
        }
        do {
            _ = try reader.forEachLine(
                of: chunks,
                afterRead: { afterRead(lines) },
                beforeReuse: { steps.flush() },
                onOverlong: { lineNumber, length in
                    lines += 1
                    malformed += 1
                    if samples.count < sampleLimit { samples.append((0, lineNumber, Self.overlong(length, limit: maxLineBytes))) }
                }
            ) { line, lineNumber in
                lines += 1
                if let problem = steps.process(line) {
                    malformed += 1
                    if samples.count < sampleLimit { samples.append((0, lineNumber, Self.describe(problem))) }
                }
            }
        } catch let failure as InputError {
            error = failure
        } catch {
            // `forEachLine` throws only the source's `InputError`s and what the body throws (nothing).
        }
    }

    /// Passes the batched hits on to the counter: after it the counter has counted every line
    /// of every chunk.
    func finish() {
        guard var steps = steps.take() else { return }
        steps.finish()
        self.steps = steps
    }

    /// The sample text of a line over the limit.
    static func overlong(_ length: Int, limit: Int) -> String { "longer than \(limit) bytes (\(length)); skipped" }

    /// The sample text of a line that does not match the format.
    static func describe(_ problem: Malformation) -> String { "\(problem.reason.rawValue) at byte \(problem.byteOffset + 1)" }

    /// This file's lines over all lanes, and its first malformed lines (at most `limit`),
    /// numbered in the file: each chunk's first line follows the lines of every chunk before it.
    static func fileLines(_ lanes: [ParseLane], path: String, limit: Int) -> (lines: Int, samples: [String]) {
        var perChunk = lanes.flatMap(\.chunkLines)
        perChunk.sort { $0.sequence < $1.sequence }
        var firstLine: [Int: Int] = [:]
        var lines = 0
        for chunk in perChunk {
            firstLine[chunk.sequence] = lines
            lines += chunk.lines
        }
        var samples = lanes.flatMap(\.samples)
        samples.sort { ($0.sequence, $0.line) < ($1.sequence, $1.line) }
        let texts = samples.prefix(limit).map { "\(path):\((firstLine[$0.sequence] ?? 0) + $0.line): \($0.text)" }
        return (lines, texts)
    }
}
