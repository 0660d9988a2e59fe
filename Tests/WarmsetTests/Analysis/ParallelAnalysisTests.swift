import WarmsetModel
import Foundation
import Testing
import WarmsetGenerator
@testable import WarmsetAnalysis
@testable import WarmsetInput
@testable import WarmsetSketch

@Suite("Parallel parsing")
struct ParallelAnalysisTests {
    /// Generated traffic with malformed, CR LF, overlong and buffer-sized lines mixed in.
    static func corpus(seed: UInt64, lines: Int = 3000) -> [UInt8] {
        var generated: [UInt8] = []
        TrafficGenerator(lines: lines, keys: 400, zipf: 1.0, seed: seed).write { generated += $0 }
        var rng = SplitMix(seed: seed)
        var out: [UInt8] = []
        for line in generated.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            switch rng.next() % 40 {
            case 0: out += Array("not a log line\n".utf8)
            case 1: out += Array(repeating: UInt8(ascii: "x"), count: 1500 + Int(rng.next() % 9000)) + [0x0A]  // overlong
            case 2: out += line + [0x0D, 0x0A]
            case 3: out += Array(line.prefix(30)) + [0x0A]  // truncated
            default: out += line + [0x0A]
            }
        }
        out += Array(generated.suffix(120).split(separator: 0x0A).last ?? [])  // a last line without a newline
        return out
    }

    /// The lines a simple split gives: nil for a line over `maxLineBytes` (after its `\r`).
    static func reference(_ bytes: [UInt8], maxLineBytes: Int) -> [[UInt8]?] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        if bytes.last == 0x0A || bytes.isEmpty { lines.removeLast() }
        return lines.map { line in
            let trimmed = line.last == 0x0D ? Array(line.dropLast()) : line
            return trimmed.count > maxLineBytes ? nil : trimmed
        }
    }

    @Test("line-aligned chunks give the reference lines at every chunk and read size", arguments: [64, 100, 257, 1024, 4096])
    func chunksAgainstReference(chunkSize: Int) throws {
        let seed: UInt64 = 5
        let text = Self.corpus(seed: seed, lines: 400)
        let maxLineBytes = chunkSize / 4
        let expected = Self.reference(text, maxLineBytes: maxLineBytes)
        for readSize in [1, 7, 333, 1 << 20] {
            let chunks = LineAlignedChunks(MemorySource(text, chunk: readSize), lanes: 1, chunkSize: chunkSize, buffersPerLane: 2)
            var got: [[UInt8]?] = []
            var sequence = 0
            var lane: Int?
            while let work = chunks.next(releasing: lane) {
                lane = work.lane
                #expect(work.error == nil)
                guard let chunk = work.chunk else { continue }
                #expect(chunk.sequence == sequence)
                sequence += 1
                let count = chunk.forEachLine(maxLineBytes: maxLineBytes, onOverlong: { _, _ in got.append(nil) }) { line, _ in
                    got.append(Array(line))
                }
                _ = count
            }
            #expect(got == expected, "chunk \(chunkSize), read \(readSize), seed \(seed)")
        }
    }

    func configuration(_ inputs: [String], exact: Bool, threads: Int, chunkSize: Int) -> AnalysisConfiguration {
        var c = AnalysisConfiguration()
        c.inputs = inputs
        c.exact = exact
        c.top = 100_000
        c.rules = [#"^/products/(\d+)$ => product:$1"#]
        c.maxMalformedFraction = 1
        c.maxLineBytes = 1024
        c.parseThreads = threads
        c.parallelChunkSize = chunkSize
        return c
    }

    /// Two plain files and a gzip one, in a temporary directory.
    func inputs(seed: UInt64) throws -> [String] {
        let dir = try TestSupport.temporaryDirectory()
        var paths: [String] = []
        for (i, lines) in [2000, 3500, 1200].enumerated() {
            let path = dir.appendingPathComponent("part\(i).log").path
            try Data(Self.corpus(seed: seed &+ UInt64(i), lines: lines)).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        #expect(try TestSupport.shell("gzip -c '\(paths[2])' > '\(paths[2]).gz'") == 0)
        paths[2] += ".gz"
        return paths
    }

    @Test("exact mode: several workers give the single-threaded result (keys, counts, paths, samples)", arguments: [2, 3])
    func exactMatchesSingleThread(threads: Int) throws {
        let seed: UInt64 = 21
        let paths = try inputs(seed: seed)
        let single = try Analyzer.run(configuration(paths, exact: true, threads: 1, chunkSize: 4096))
        for chunkSize in [4096, 10_000, 1 << 20] {
            let parallel = try Analyzer.run(configuration(paths, exact: true, threads: threads, chunkSize: chunkSize))
            let context = "threads \(threads), chunk \(chunkSize), seed \(seed)"
            #expect(parallel.ranked == single.ranked, "\(context)")
            #expect(parallel.summary.malformedSamples == single.summary.malformedSamples, "\(context)")
            #expect(parallel.summary.malformedSamples.count == 5)
            #expect(parallel.summary.linesRead == single.summary.linesRead, "\(context)")
            #expect(parallel.summary.linesMalformed == single.summary.linesMalformed, "\(context)")
            #expect(parallel.summary.filtered == single.summary.filtered, "\(context)")
            #expect(parallel.summary.requestsCounted == single.summary.requestsCounted, "\(context)")
            #expect(parallel.summary.distinctKeys == single.summary.distinctKeys, "\(context)")
            #expect(parallel.summary.inputs.map(\.lines) == single.summary.inputs.map(\.lines), "\(context)")
            #expect(parallel.summary.inputs.map(\.bytes) == single.summary.inputs.map(\.bytes), "\(context)")
        }
    }

    /// Without `--threads`, all-gzip input runs its lanes on one thread fewer than the cores
    /// (the inflater parses when it is ahead): one on 2 cores, and plain or mixed input keeps one
    /// thread per lane.
    @Test("gzip input without --threads leaves the inflater a core")
    func spareCoreForInflate() {
        var c = AnalysisConfiguration()
        c.parseThreads = 2
        let counter = SketchCounter(parameters: SketchParameters(depth: 4, widthLog2: 10), top: 10)
        #expect(LaneRun.laneCount(c, counter: .sketch(counter), counterOverride: false, weighted: false) == 2)
        func threads(gzip: Bool, cores: Int, lanes: Int = 2) -> Int {
            LaneRun.parseThreads(lanes: lanes, c, allGzip: gzip, cores: cores)
        }
        #expect(threads(gzip: true, cores: 2) == 2 && threads(gzip: false, cores: 2) == 2, "chosen threads are kept")
        c.spareCoreForInflate = true
        #expect(threads(gzip: true, cores: 2) == 1)
        #expect(threads(gzip: true, cores: 1) == 1)
        #expect(threads(gzip: true, cores: 4) == 2)
        #expect(threads(gzip: true, cores: 4, lanes: 4) == 3)
        #expect(threads(gzip: false, cores: 2) == 2)
    }

    /// A gzip file is read ahead on a thread of its own only when a core is left for it
    /// besides the inflating thread and the parse threads (on 2 cores it preempted the
    /// inflater); never when decoding runs on the parsing thread.
    @Test("gzip files are read ahead only on a spare core")
    func readAheadOnlyOnASpareCore() {
        var c = AnalysisConfiguration()
        c.parseThreads = 2
        #expect(!c.readsAhead(cores: 2) && !c.readsAhead(cores: 3))
        #expect(c.readsAhead(cores: 4))
        c.parseThreads = 1
        #expect(!c.readsAhead(cores: 2) && c.readsAhead(cores: 3))
        c.decodeInBackground = false
        #expect(!c.readsAhead(cores: 8))
    }

    /// At the end of the input the decoding thread works through the chunks still queued, with
    /// the parse threads, instead of leaving them to the parse threads alone: here the ring never
    /// fills (15,000 bytes in windows of 512 and 1,024 bytes, a ring of 17 buffers), so any chunk
    /// it processes, it processes after the end of the input (before, it processed none). Every
    /// chunk is processed once, each lane's in order, whichever thread took it.
    @Test func theDecodingThreadHelpsWithTheChunksLeftAtTheEndOfTheInput() throws {
        let path = try TestSupport.temporaryDirectory().appendingPathComponent("four-chunks.log").path
        let line = String(repeating: "x", count: 99) + "\n"
        try String(repeating: line, count: 150).write(toFile: path, atomically: true, encoding: .utf8)  // 15,000 bytes
        let order = Mutexed<[(lane: Int, sequence: Int, helped: Bool)]>([])
        let chunks = LineAlignedChunks(try InputOpener.open(path), lanes: 2, chunkSize: 4096, buffersPerLane: 8) { lane, chunk in
            order.update { $0.append((lane, chunk.sequence, true)) }
            return ChunkDrain.lines(chunk)
        }
        ChunkDrain.drain(chunks) { work in
            guard let chunk = work.chunk else { return }
            order.update { $0.append((work.lane, chunk.sequence, false)) }
            // A slow parse thread: the decoder reaches the end of the input while it holds a lane.
            Thread.sleep(forTimeInterval: 0.02)
        }
        let seen = order.value
        #expect(chunks.linesDone == 150)
        #expect(seen.map(\.sequence).sorted() == Array(0..<seen.count) && seen.count < 17, "\(seen)")
        #expect(seen.contains { $0.helped }, "the decoding thread processed none: \(seen)")
        for l in 0..<2 {
            let sequences = seen.filter { $0.lane == l }.map(\.sequence)
            #expect(sequences == sequences.sorted() && sequences.allSatisfy { $0 % 2 == l }, "lane \(l): \(sequences)")
        }
    }

    /// The first chunk is an eighth of the window (the parse threads wait for it) and the chunks
    /// of the input's last ring-full a quarter (they end together); the rest are whole windows.
    /// Where chunks end depends on the input alone: the same with a fast and a slow reader, plain
    /// or gzip.
    @Test func smallerChunksAtTheStartAndTheEndOfTheInputWhereverTheyAreRead() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("windows.log").path
        // Lines of 64 bytes that compress about as a log does (a repeated line would compress a
        // thousandfold, and the gzip reader's estimate of what is left would mean little).
        var rng = SplitMix(seed: 5)
        let lines = (0..<4_000).map { _ in
            "GET /p/" + String(rng.next(), radix: 16).leftPadded(to: 16) + " " + String(rng.next() % 100_000_000_000, radix: 10).leftPadded(to: 11)
                + String(repeating: "y", count: 28) + "\n"
        }
        try lines.joined().write(toFile: path, atomically: true, encoding: .utf8)  // 256,000 bytes
        #expect(try TestSupport.shell("gzip -c '\(path)' > '\(path).gz'") == 0)
        func sizes(_ path: String, slow: Bool) throws -> [Int] {
            let chunks = LineAlignedChunks(try InputOpener.open(path), lanes: 2, chunkSize: 4096, buffersPerLane: 3)
            var found: [(sequence: Int, bytes: Int)] = []
            ChunkDrain.drain(chunks) { work in
                guard let chunk = work.chunk else { return }
                found.append((chunk.sequence, chunk.bytes.count))
                if slow { Thread.sleep(forTimeInterval: 0.0005) }
            }
            return found.sorted { $0.sequence < $1.sequence }.map(\.bytes)
        }
        // Plain: the first window of 512 bytes; whole windows (4,096 bytes, less the partial line
        // carried on) in the middle; windows of 1,024 once what is left fits the ring (7 buffers:
        // 28,672 bytes), and no more of them.
        let plain = try sizes(path, slow: false)
        #expect(plain.reduce(0, +) == 256_000)
        #expect(plain.first == 512, "\(plain.prefix(3))")
        let middle = plain.dropFirst().prefix { $0 > 1024 + 64 }
        #expect(middle.count > 40 && middle.allSatisfy { $0 > 4096 - 64 && $0 <= 4096 + 64 }, "\(plain)")
        let tail = plain.dropFirst(1 + middle.count)
        #expect(tail.count >= 4 && tail.allSatisfy { $0 <= 1024 + 64 } && tail.reduce(0, +) < 7 * 4096 + 4096, "\(plain)")
        #expect(try sizes(path, slow: true) == plain)
        // Gzip: what is left is estimated from the compressed bytes consumed, which on a file this
        // small runs ahead of the bytes decoded (the inflater reads its input in blocks), so more
        // of it is read in small windows; the first and the last are small all the same.
        let gzip = try sizes(path + ".gz", slow: false)
        #expect(gzip.reduce(0, +) == 256_000)
        #expect(gzip.first == 512 && gzip.contains { $0 > 4096 - 64 } && gzip.suffix(4).allSatisfy { $0 <= 1024 + 64 }, "\(gzip)")
        #expect(try sizes(path + ".gz", slow: true) == gzip)
    }

    /// The decoding thread parses a lane's chunk whenever its ring is full: a slow parse
    /// thread lets it get ahead, and both parse. And the result is the same whoever parsed
    /// what, on 1, 2 or 3 parse threads (each lane sees its chunks in order).
    @Test("the inflating thread parses when ahead; the result does not depend on who parsed")
    func decoderHelps() throws {
        let paths = try inputs(seed: 31)
        let exact = try Analyzer.run(configuration(paths, exact: true, threads: 1, chunkSize: 4096))
        for path in paths {
            let source = try InputOpener.open(path)
            var helped = 0
            var parsed = 0
            // The decoder's first help waits (up to 10 s) for the parse thread's first chunk: on a
            // loaded machine the parse thread was once not scheduled before the decoder had parsed
            // every chunk itself, and "both parse" failed for the scheduler's sake. (The ring is
            // full when the decoder helps, so other lanes' chunks wait for the parse thread.)
            let firstParsed = Handoff<Bool>()
            let chunks = LineAlignedChunks(source, lanes: 3, chunkSize: 4096, buffersPerLane: 1) { _, chunk in
                if helped == 0 { _ = firstParsed.wait(until: Date(timeIntervalSinceNow: 10)) }
                helped += 1
                return ChunkDrain.lines(chunk)
            }
            ChunkDrain.drain(chunks) { work in
                #expect(work.error == nil)
                guard work.chunk != nil else { return }
                parsed += 1
                if parsed == 1 { firstParsed.put(true) }
                Thread.sleep(forTimeInterval: 0.002)  // a slow parser: the decoder gets ahead
            }
            #expect(helped > 0 && parsed > 0, "\(path): helped \(helped), parsed \(parsed)")
            #expect(chunks.linesDone == exact.summary.inputs.first { $0.path == path }?.lines, "\(path)")
        }

        var c = configuration(paths, exact: false, threads: 3, chunkSize: 4096)
        c.sketch = SketchParameters(depth: 4, widthLog2: 10)
        c.top = 50
        func outcome(threads: Int) throws -> (ranked: [RankedKey], outcome: LaneRun.Outcome) {
            let sources: [(path: String, source: (any ByteSource)?)] = try paths.map { ($0, try InputOpener.open($0)) }
            let counter = SketchCounter(parameters: c.sketch, top: c.top)
            var summary = AnalysisSummary()
            let run = try LaneRun(
                c, compiled: try CompiledAnalysis(c), counter: .sketch(counter), sinks: [], lanes: 3, threads: threads, sampleLimit: 5)
            let outcome = run.run(sources, summary: &summary) { _, _ in }
            return (outcome.counter.keyCounter.ranked(limit: 50), outcome)
        }
        let reference = try outcome(threads: 3)
        #expect(reference.outcome.linesRead == exact.summary.linesRead)
        #expect(reference.outcome.malformed == exact.summary.linesMalformed)
        #expect(reference.outcome.samples == exact.summary.malformedSamples)
        #expect(reference.ranked.count == 50)
        for threads in [1, 2, 3, 1] {
            let again = try outcome(threads: threads)
            #expect(again.ranked == reference.ranked, "\(threads) threads")
            #expect(again.outcome.samples == reference.outcome.samples)
            #expect(again.outcome.filtered == reference.outcome.filtered)
            #expect(again.outcome.linesRead == reference.outcome.linesRead)
        }
    }

    /// A gzip file cut short: every thread setting counts the same lines, those before the cut.
    @Test("a truncated gzip input gives the same partial counts on one thread and on lanes")
    func truncatedGzipSameOnEveryPath() throws {
        let dir = try TestSupport.temporaryDirectory()
        var bytes: [UInt8] = []
        TrafficGenerator(lines: 30_000, keys: 500, zipf: 1.0, seed: 12).write { bytes += $0 }
        let path = dir.appendingPathComponent("cut.log").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let cut = try TestSupport.truncatedGzip(of: path, keeping: 2.0 / 3)
        var runs: [AnalysisResult] = []
        for (threads, background) in [(1, false), (1, true), (2, true), (3, true)] {
            var c = configuration([cut], exact: true, threads: threads, chunkSize: 1 << 20)
            c.allowPartial = true
            c.decodeInBackground = background
            runs.append(try Analyzer.run(c))
        }
        let lines = runs[0].summary.linesRead
        #expect(lines > 10_000 && lines < 30_000, "\(lines) lines before the cut")
        for run in runs {
            #expect(run.summary.partial)
            #expect(run.summary.linesRead == lines)
            let sameRanking = run.ranked == runs[0].ranked  // a Bool: the rankings are long to print
            #expect(sameRanking, "\(run.ranked.count) keys against \(runs[0].ranked.count)")
        }
    }

    /// On one thread each line is keyed when the next arrives: a file's last line, with or
    /// without a newline, is still counted, once, and under its own key. Each file ends with a
    /// request for a key no other line has. (That it is keyed before its file's buffers go is
    /// `LineReader`'s `beforeReuse` contract, tested with the reader.)
    @Test("one thread keys each file's last line before moving to the next file")
    func lastLineOfEachFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        var paths: [String] = []
        for i in 0..<3 {
            var bytes: [UInt8] = []
            TrafficGenerator(lines: 4000, keys: 300, zipf: 1.0, seed: 40 + UInt64(i)).write { bytes += $0 }
            bytes += Array(#"10.0.0.9 - - [27/Nov/2026:10:00:00 +0000] "GET /products/\#(9_000_000 + i) HTTP/1.1" 200 512 "-" "t""#.utf8)
            if i != 1 { bytes.append(0x0A) }  // the middle file's last line has no newline
            let path = dir.appendingPathComponent("part\(i).log").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        for background in [false, true] {
            var c = configuration(paths, exact: true, threads: 1, chunkSize: 4096)
            c.decodeInBackground = background
            let result = try Analyzer.run(c)
            for i in 0..<3 {
                let key = "product:\(9_000_000 + i)"
                #expect(result.ranked.first { $0.key == key }?.count == 1, "\(key), background \(background)")
            }
        }
    }

    @Test("malformed samples number lines across chunks and files as one thread does")
    func samplesLateInFiles() throws {
        let dir = try TestSupport.temporaryDirectory()
        var bytes: [UInt8] = []
        TrafficGenerator(lines: 5000, keys: 100, zipf: 1.0, seed: 3).write { bytes += $0 }
        bytes += Array("late junk\n".utf8)
        let path = dir.appendingPathComponent("late.log").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let c = configuration([path, path], exact: true, threads: 2, chunkSize: 4096)
        let result = try Analyzer.run(c)
        #expect(result.summary.malformedSamples.allSatisfy { $0.hasPrefix("\(path):5001: ") }, "\(result.summary.malformedSamples)")
        #expect(result.summary.malformedSamples.count == 2)
    }

    @Test("sketch mode: several workers stay within the bound of the exact counts")
    func sketchWithinBound() throws {
        let paths = try inputs(seed: 8)
        let exact = try Analyzer.run(configuration(paths, exact: true, threads: 1, chunkSize: 4096))
        var c = configuration(paths, exact: false, threads: 2, chunkSize: 4096)
        c.sketch = SketchParameters(depth: 4, widthLog2: 10)
        c.top = 50
        let sketch = try Analyzer.run(c)
        let again = try Analyzer.run(c)
        #expect(sketch.ranked == again.ranked, "deterministic")
        let truth = Dictionary(exact.ranked.map { ($0.key, $0.count) }, uniquingKeysWith: +)
        let bound = try #require(sketch.errorBound)
        #expect(sketch.summary.requestsCounted == exact.summary.requestsCounted)
        #expect(sketch.ranked.count == 50)
        for key in sketch.ranked {
            let real = truth[key.key] ?? 0
            #expect(key.count >= real && key.count <= real + bound, "\(key.key): \(key.count) vs \(real) + \(bound)")
        }
        // The heaviest keys are all found.
        for key in exact.ranked.prefix(10) { #expect(sketch.ranked.contains { $0.key == key.key }) }
    }
}

/// A fixed-seed generator for test corpora.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private extension String {
    /// The string with zeros before it, `width` characters at least.
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}

/// A test that stands for a parse thread over `LineAlignedChunks`.
enum ChunkDrain {
    /// A chunk's lines, overlong ones included, as a lane counts them.
    static func lines(_ chunk: LineChunk) -> Int {
        var lines = 0
        _ = chunk.forEachLine(maxLineBytes: 1024, onOverlong: { _, _ in lines += 1 }) { _, _ in lines += 1 }
        return lines
    }

    /// Takes every piece of work `chunks` hands this thread until all lanes end, handing each
    /// lane back with the lines of its chunk; `each` sees every piece first (a lane's end too).
    static func drain(_ chunks: LineAlignedChunks, each: (LineAlignedChunks.Work) -> Void) {
        var lane: Int?
        var lines = 0
        while let work = chunks.next(releasing: lane, lines: lines) {
            lane = work.lane
            each(work)
            lines = work.chunk.map(Self.lines) ?? 0
        }
        chunks.waitUntilFinished()
    }
}
