#if canImport(Glibc)
import WarmsetModel
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

    /// A `LaneRun` progress callback (bytes consumed, lines) that calls `progress`, when given,
    /// at most about four times a second: the one throttle of every command's progress.
    /// - Parameters:
    ///   - totalBytes: the inputs' on-disk size, when known.
    ///   - start: the run's start, `Analyzer.now()`.
    static func reporter(totalBytes: Int64?, start: Double, _ progress: ((AnalysisProgress) -> Void)?) -> (Int64, Int) -> Void {
        guard let progress else { return { _, _ in } }
        var nextReport = start + 0.25
        return { consumed, lines in
            let t = Analyzer.now()
            guard t >= nextReport else { return }
            nextReport = t + 0.25
            progress(AnalysisProgress(bytesConsumed: consumed, totalBytes: totalBytes, lines: lines, elapsed: t - start))
        }
    }
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

    /// Analyzes the configured inputs: opens them, makes the counter, runs the lanes and
    /// builds the result, each a step of its own.
    ///
    /// Inputs that cannot be opened are reported before any line is read; with
    /// `allowPartial` they are skipped instead. A damaged gzip stream ends its file (the
    /// lines before the damage count) and marks the result partial.
    /// - Parameter progress: called about four times a second with the bytes consumed.
    /// - Parameter counterOverride: count into this counter instead (`--recount`'s second pass).
    /// - Throws: `ConfigurationError` for a bad configuration, or the first `InputError`
    ///   for an input that cannot be opened (unless `allowPartial`).
    public static func run(
        _ configuration: AnalysisConfiguration, progress: ((AnalysisProgress) -> Void)? = nil,
        counterOverride: KeyCounting? = nil
    ) throws -> AnalysisResult {
        let start = now()
        let compiled = try CompiledAnalysis(configuration)
        var summary = AnalysisSummary()
        summary.notes = compiled.notes

        let inputs = try AnalysisInputs.open(configuration, recordingFailuresIn: &summary)
        if let strategy = configuration.strategy, let sketch = inputs.sketches.first {
            throw ConfigurationError(
                "\(sketch.path) is a sketch file, which keeps no log times, so --strategy \(strategy.strategy) cannot place its requests before or after --at; give the logs it was made from")
        }
        let counter = try counterOverride ?? CounterFactory.make(configuration, sketches: inputs.sketches, withLogs: !inputs.logs.isEmpty)
        inputs.recordSketches(in: &summary)
        let weigher = RequestWeigher.isNeeded(configuration) ? RequestWeigher(counter: counter, configuration: configuration) : nil

        let lanes = LaneRun.laneCount(configuration, counter: counter, counterOverride: counterOverride != nil, weighted: weigher != nil)
        let laneRun = try LaneRun(
            configuration, compiled: compiled, counter: counter, sinks: weigher.map { [$0] } ?? [], lanes: lanes,
            threads: LaneRun.parseThreads(lanes: lanes, configuration, allGzip: inputs.allGzip), sampleLimit: malformedSampleLimit)
        let reporter = AnalysisProgress.reporter(totalBytes: inputs.totalBytes, start: start, progress)
        let outcome = laneRun.run(inputs.logs, summary: &summary, progress: reporter)
        weigher?.flush()

        return result(of: outcome, weigher: weigher, compiled: compiled, configuration: configuration, summary: summary, start: start)
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

