#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WarmsetFormat
import WarmsetInput
import WarmsetKeys
import WarmsetSketch

/// Progress of a running analysis.
public struct AnalysisProgress: Sendable {
    /// On-disk bytes consumed over all inputs.
    public var bytesConsumed: Int64
    /// The on-disk size of all inputs, when every one is a regular file.
    public var totalBytes: Int64?
    /// Lines read so far.
    public var lines: Int
    /// Seconds since the start.
    public var elapsed: Double
}

/// The result of `Analyzer.run`.
public struct AnalysisResult: Sendable {
    /// The warm set, in rank order (at most `top` keys).
    public var ranked: [RankedKey]
    /// The counts and figures of the run.
    public var summary: AnalysisSummary
    /// The sketch's error bound, nil in exact mode (for the manifest).
    public var errorBound: UInt64?
    /// The counter's state, when `saveSketch` asked for it.
    public var sketch: SketchSnapshot?
    /// Requests per minute, when a report was asked for.
    public var timeline: Timeline?

    /// True when the result may be written: every input was read (or `--allow-partial`)
    /// and malformed lines stayed under the threshold.
    public func isTrustworthy(allowPartial: Bool) -> Bool {
        !summary.tooManyMalformed && (!summary.partial || allowPartial)
    }
}

/// Runs the pipeline: input → parse → filter → key → count → rank.
public enum Analyzer {
    /// How many malformed lines are quoted in the summary.
    static let malformedSampleLimit = 5

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Analyzes the configured inputs.
    ///
    /// Inputs that cannot be opened are reported before any line is read; with
    /// `allowPartial` they are skipped instead. A damaged gzip stream ends its file (the
    /// lines before the damage count) and marks the result partial.
    /// - Parameter progress: called about four times a second with the bytes consumed.
    /// - Throws: `ConfigurationError` for a bad configuration, or the first `InputError`
    ///   for an input that cannot be opened (unless `allowPartial`).
    /// - Parameter counterOverride: count into this counter instead (`--recount`'s second pass).
    public static func run(
        _ configuration: AnalysisConfiguration, progress: ((AnalysisProgress) -> Void)? = nil,
        counterOverride: (any KeyCounter)? = nil
    ) throws -> AnalysisResult {
        let start = now()
        let compiled = try CompiledAnalysis(configuration)
        var summary = AnalysisSummary()
        summary.notes = compiled.notes

        // Open everything first: a typo in the last file name should not cost a long run.
        var sources: [(path: String, source: (any ByteSource)?)] = []
        var sketches: [(path: String, snapshot: SketchSnapshot)] = []
        for path in configuration.inputs {
            do {
                // Sketch files are told from logs by their magic number, as gzip is.
                switch try SketchStore.classify(try InputOpener.open(path, inflater: configuration.inflater)) {
                case .log(let source): sources.append((path, source))
                case .sketch(let bytes): sketches.append((path, try SketchFile.decode(bytes, path: path)))
                }
            } catch let error as SketchError {
                if !configuration.allowPartial { throw error }
                summary.partial = true
                summary.errors.append(error.description)
                summary.inputs.append(.init(path: path, gzip: false, compressedBytes: 0, bytes: 0, lines: 0, error: error.description))
            } catch let error as InputError {
                if !configuration.allowPartial { throw error }
                summary.partial = true
                summary.errors.append(error.description)
                summary.inputs.append(.init(path: path, gzip: false, compressedBytes: 0, bytes: 0, lines: 0, error: error.description))
                sources.append((path, nil))
            }
        }
        var totalBytes: Int64? = 0
        for entry in sources {
            if let size = entry.source?.compressedSize, let sum = totalBytes { totalBytes = sum + size } else if entry.source != nil { totalBytes = nil }
        }

        var counter = try counterOverride ?? CounterFactory.make(configuration, sketches: sketches, withLogs: !sources.isEmpty)
        let weigher = RequestWeigher.isNeeded(configuration) ? RequestWeigher(counter: counter, configuration: configuration) : nil
        for (path, snapshot) in sketches {
            summary.inputs.append(.init(
                path: path, gzip: false, compressedBytes: Int64(snapshot.cells.count), bytes: 0, lines: 0, error: nil,
                sketchRequests: snapshot.requests))
        }
        let reader = LineReader(maxLineBytes: configuration.maxLineBytes)
        let opened = sources.compactMap(\.source)
        let lanes = ParallelAnalysis.lanes(configuration, counter: counter, counterOverride: counterOverride, weighted: weigher != nil)
        // With several lanes the lanes count (each its own steps); these only collect.
        var steps = LineSteps(compiled, counter: counter, weigher: weigher, batchHits: lanes == 1, oneLineLate: lanes == 1)
        var linesRead = 0
        var malformed = 0
        var samples: [String] = []
        var consumedBefore: Int64 = 0
        var decodedTotal: Int64 = 0
        var nextReport = start + 0.25

        if lanes > 1 {
            let outcome = try ParallelAnalysis.run(
                sources, lanes: lanes,
                threads: ParallelAnalysis.parseThreads(lanes: lanes, configuration, allGzip: !opened.isEmpty && opened.allSatisfy(\.isGzip)),
                configuration: configuration, compiled: compiled, counter: counter,
                sampleLimit: malformedSampleLimit, summary: &summary
            ) { consumed, lines in
                if let progress {
                    let t = now()
                    if t >= nextReport {
                        nextReport = t + 0.25
                        progress(AnalysisProgress(bytesConsumed: consumed, totalBytes: totalBytes, lines: lines, elapsed: t - start))
                    }
                }
            }
            counter = outcome.counter
            linesRead = outcome.linesRead
            malformed = outcome.malformed
            samples = outcome.samples
            steps.filtered = outcome.filtered
            decodedTotal = outcome.decodedTotal
        } else {
            for (path, maybeSource) in sources {
                guard let source = maybeSource else { continue }
                var lines = 0
                var decoded: Int64 = 0
                let linesBefore = linesRead
                var failure: String?
                // Decode on a second thread (inflate overlaps parsing), or on this one.
                let chunks: any ChunkSource =
                    configuration.decodeInBackground ? PrefetchedChunks(source) : DirectChunks(source)
                do {
                    _ = try reader.forEachLine(
                        of: chunks,
                        afterRead: {
                            if let progress {
                                let t = now()
                                if t >= nextReport {
                                    nextReport = t + 0.25
                                    progress(AnalysisProgress(
                                        bytesConsumed: consumedBefore + chunks.compressedBytesConsumed, totalBytes: totalBytes,
                                        lines: linesRead, elapsed: t - start))
                                }
                            }
                        },
                        beforeReuse: { steps.flush() },
                        onOverlong: { lineNumber, length in
                            linesRead += 1
                            malformed += 1
                            if samples.count < malformedSampleLimit {
                                samples.append("\(path):\(lineNumber): longer than \(configuration.maxLineBytes) bytes (\(length)); skipped")
                            }
                        }
                    ) { line, lineNumber in
                        linesRead += 1
                        if let problem = steps.process(line) {
                            malformed += 1
                            if samples.count < malformedSampleLimit {
                                samples.append("\(path):\(lineNumber): \(problem.reason.rawValue) at byte \(problem.byteOffset + 1)")
                            }
                        }
                    }
                } catch let error as InputError {
                    failure = error.description
                    summary.partial = true
                    summary.errors.append(error.description)
                }
                decoded = chunks.decodedBytes
                lines = linesRead - linesBefore
                consumedBefore += source.compressedBytesConsumed
                decodedTotal += decoded
                summary.inputs.append(.init(
                    path: path, gzip: source.isGzip, compressedBytes: source.compressedBytesConsumed, bytes: decoded,
                    lines: lines, error: failure))
            }
        }

        steps.finish()
        weigher?.flush()
        let stats = counter.stats
        let selection = Selection.choose(from: counter, stats: stats, configuration: configuration)
        var ranked = selection.keys
        summary.selection = selection.summary
        if let weigher {
            if weigher.unweighted > 0 { summary.notes.append("\(weigher.unweighted) requests had no readable $request_time and weighed 0") }
            if weigher.untimed > 0 { summary.notes.append("\(weigher.untimed) requests had no readable time and were decayed as if logged last") }
        }
        if !configuration.candidatesOnly {
            // Captures are not stored per key: the representative path gives them back.
            compiled.keys.recoverCaptures(of: &ranked, path: \.path, captures: \.captures)
        }
        let elapsed = now() - start
        summary.linesRead = linesRead
        summary.linesMalformed = malformed
        summary.linesParsed = linesRead - malformed
        summary.malformedSamples = samples
        for (i, reason) in RequestFilter.Reason.allCases.enumerated() where steps.filtered[i] > 0 {
            summary.filtered[reason.rawValue] = steps.filtered[i]
        }
        summary.requestsCounted = stats.total
        summary.weightCounted = stats.weighted ? stats.weightTotal : nil
        summary.distinctKeys = stats.distinctKeys
        summary.counting = AnalysisSummary.Counting(
            mode: stats.exact ? "exact" : "sketch",
            depth: stats.parameters?.depth,
            width: stats.parameters?.width,
            epsilon: stats.parameters?.epsilon,
            delta: stats.parameters?.delta,
            errorBound: stats.errorBound, memoryBytes: stats.memoryBytes,
            errorBoundWeight: stats.weighted ? stats.errorBoundWeight : nil, missBound: stats.exact ? nil : stats.missBound,
            candidates: stats.exact ? nil : stats.tracked, weight: configuration.weight.description,
            halfLifeSeconds: configuration.halfLifeSeconds, update: stats.exact ? nil : (configuration.conservativeUpdate ? "conservative" : "plain"))
        summary.keysEmitted = ranked.count
        let emittedSum = ranked.reduce(0.0) { $0 + $1.rankValue }
        summary.coverageOfEmitted = stats.weightTotal > 0 ? min(1, emittedSum / stats.weightTotal) : 0
        summary.elapsedSeconds = elapsed
        summary.megabytesPerSecond = elapsed > 0 ? Double(decodedTotal) / 1e6 / elapsed : 0
        summary.linesPerSecond = elapsed > 0 ? Double(linesRead) / elapsed : 0
        summary.peakRSSBytes = peakRSS()
        if linesRead > 0 && Double(malformed) / Double(linesRead) > configuration.maxMalformedFraction {
            summary.tooManyMalformed = true
        }
        var result = AnalysisResult(ranked: ranked, summary: summary, errorBound: stats.exact ? nil : stats.errorBound)
        if configuration.saveSketch != nil, let mergeable = counter as? any MergeableCounter { result.sketch = mergeable.snapshot() }
        result.timeline = weigher.flatMap { configuration.report != nil ? $0.timeline : nil }
        return result
    }

    /// Peak resident memory of this process, in bytes.
    ///
    /// On Linux the memory's own high-water mark (`VmHWM` in /proc/self/status). Not
    /// `getrusage`'s `ru_maxrss`: that survives `exec`, so a process started by a large one (a
    /// test runner, a deploy tool holding gigabytes) would report its parent's peak as its own.
    public static func peakRSS() -> Int {
        #if os(Linux)
            if let kilobytes = highWaterMarkKilobytes() { return kilobytes * 1024 }
        #endif
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        #if os(Linux)
            return Int(usage.ru_maxrss) * 1024
        #else
            return Int(usage.ru_maxrss)
        #endif
    }

    #if os(Linux)
        /// `VmHWM` of /proc/self/status in kB, or nil when it cannot be read.
        static func highWaterMarkKilobytes() -> Int? {
            // The file is about 1.5 kB, `VmHWM` a third of the way in.
            guard let file = try? RawFile(path: "/proc/self/status") else { return nil }
            var bytes = [UInt8](repeating: 0, count: 16 * 1024)
            guard let n = try? bytes.withUnsafeMutableBytes({ buffer throws(InputError) in try file.readFully(into: buffer) }) else { return nil }
            return parseHighWaterMark(Array(bytes[0..<n]))
        }

        /// The number on the `VmHWM:` line of a /proc/<pid>/status text (kB), or nil.
        static func parseHighWaterMark(_ status: [UInt8]) -> Int? {
            for line in status.split(separator: 0x0A) where line.starts(with: Array("VmHWM:".utf8)) {
                var value = 0
                var digits = 0
                for byte in line.dropFirst(6) where byte >= 0x30 && byte <= 0x39 {
                    value = value * 10 + Int(byte - 0x30)
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            return nil
        }
    #endif
}

