import Foundation
import Logging
import WarmsetAnalysis
import WarmsetEmit
import WarmsetFollow
import WarmsetModel
import WarmsetWarm

/// How a watch runs.
public struct WatchSettings: Sendable {
    /// Seconds between warm cycles (`--every`).
    public var interval: Double
    /// Seconds between polls of the logs.
    public var pollInterval: Double = 0.2
    /// The checkpoint file (`--state`), if any.
    public var statePath: String?
    /// Run one cycle on what the logs hold now, then stop (`--once`).
    public var once = false
    /// Where each cycle writes the warm set (`-o FILE`, `--output-format`), replacing the file
    /// atomically; nil for none. Its path is a file, never `-`.
    public var manifest: AnalysisDelivery.Manifest?
    /// The kind of cache warmed (`redis`, `memcached`, `http`), for the cycle's log line;
    /// nil when there is no warmer (`-o` only).
    public var targetKind: String?

    /// Settings for a cycle every `interval` seconds.
    public init(interval: Double) { self.interval = interval }
}

/// The watch loop: follow the logs and count every new line; every interval rank the current
/// warm set, warm it and checkpoint; stop cleanly on SIGTERM/SIGINT, reopen the logs on SIGHUP.
///
/// Everything runs on the calling thread, one step after another, so a checkpoint always sees
/// the sketch and the log positions at the same moment, and a stop request is acted on only
/// between steps: the warm batch in flight is finished first.
///
/// The warm step is any `CacheWarmer`: the loop hands it the current warm set and reads its
/// report; what the cache does with present keys (refresh-ahead by remaining TTL for Redis and
/// memcached; an HTTP cache is requested every cycle) is the warmer's setting. With a manifest
/// path, each cycle first writes the warm set there (temporary file, renamed into place); with
/// no warmer, that is all a cycle does.
public final class Watcher {
    /// What the loop did, for the exit status and tests.
    public struct Outcome: Sendable {
        /// Cycles run by this process.
        public var cycles: Int
        /// Lines read by this process.
        public var linesRead: Int
        /// The last cycle's warm report, if its warm step ran.
        public var lastReport: WarmReport?
        /// The signal that stopped the loop, if one did.
        public var stoppedBy: Int32?
        /// Whether the last cycle's manifest (`-o`) could not be written.
        public var manifestFailed = false
    }

    private let settings: WatchSettings
    private let analysis: LiveAnalysis
    private let follower: LogFollower
    private let warmer: (any CacheWarmer)?
    private let signals: WatchSignals
    private let metrics: WatchMetrics
    private let logger: Logger
    private var totalLines: Int
    private var totalCycles: Int
    private var cyclesHere = 0
    private var linesSinceCycle = 0
    private var lastReport: WarmReport?
    private var lastManifestFailed = false

    /// Sets up a watch: the state file (if any) is read, the logs opened at their positions.
    /// - Parameter warmer: the cache to keep warm; nil to only write `settings.manifest`.
    /// - Throws: `WatchError` for a bad state file, `FollowError` for a log that cannot be
    ///   opened, `ConfigurationError` when the state was counted with other settings.
    public init(
        paths: [String], configuration: AnalysisConfiguration, settings: WatchSettings, warmer: (any CacheWarmer)?,
        signals: WatchSignals, metrics: WatchMetrics, logger: Logger
    ) throws {
        self.settings = settings
        self.warmer = warmer
        self.signals = signals
        self.metrics = metrics
        self.logger = logger
        let state = try settings.statePath.flatMap { (path) throws(WatchError) in try WatchState.load(path) }
        analysis = try LiveAnalysis(configuration, checkpoint: state.map { (settings.statePath ?? "state", $0.sketch) })
        follower = try LogFollower(
            paths: paths, resumingFrom: state?.positions ?? [], maxLineBytes: configuration.maxLineBytes)
        totalLines = state?.linesRead ?? 0
        totalCycles = state?.cycles ?? 0
        if let state {
            logger.info("resuming from \(settings.statePath ?? ""): \(state.linesRead) lines counted in \(state.cycles) cycles before")
        }
        for event in follower.takeEvents() { logger.notice("\(event)") }
    }

    /// Runs until stopped by a signal (or after one cycle with `once`), then checkpoints.
    /// - Returns: what happened.
    /// - Throws: `WatchError` when the final checkpoint cannot be written.
    public func run() throws -> Outcome {
        var nextCycle = Self.now()
        while true {
            if signals.takeReopen() {
                do {
                    try follower.reopen(countLine)
                    logger.info("SIGHUP: logs reopened")
                } catch {
                    logger.error("SIGHUP: \(error)")
                }
            }
            pollLogs()
            if signals.stopSignal != nil { break }
            if settings.once || Self.now() >= nextCycle {
                cycle()
                nextCycle = Self.now() + settings.interval
                if settings.once { break }
            }
            if signals.stopSignal != nil { break }
            signals.sleep(min(settings.pollInterval, max(nextCycle - Self.now(), 0.001)))
        }
        try checkpoint()
        if let signal = signals.stopSignal {
            logger.info("\(WatchSignals.name(signal)): stopped after \(cyclesHere) cycle(s); \(totalLines) lines counted in all")
        }
        return Outcome(
            cycles: cyclesHere, linesRead: analysis.linesRead, lastReport: lastReport, stoppedBy: signals.stopSignal,
            manifestFailed: lastManifestFailed)
    }

    private func countLine(_ line: UnsafeRawBufferPointer) {
        analysis.count(line)
    }

    private func pollLogs() {
        do {
            let n = try follower.poll(countLine)
            totalLines += n
            linesSinceCycle += n
        } catch {
            // A log that cannot be read now may be readable at the next poll (permissions, NFS).
            logger.error("\(error)")
        }
        for event in follower.takeEvents() { logger.debug("\(event)") }
    }

    /// What one cycle did, for the metrics and the log line.
    private struct CycleResult {
        var keys: Int
        var report: WarmReport?
        /// Why the warm step could not run, if it could not.
        var warmFailure: String?
        /// Why the manifest could not be written, if it could not.
        var manifestFailure: String?
        var checkpointFailure: String?
        var elapsed: Double
    }

    /// Rank, write the manifest, warm, checkpoint, account.
    private func cycle() {
        let start = Self.now()
        let keys = analysis.ranked()
        var result = CycleResult(keys: keys.count, elapsed: 0)
        do {
            try writeManifest(keys)
        } catch {
            result.manifestFailure = error.description
        }
        if let warmer {
            do {
                result.report = try warmer.warm(WarmPlan(keys.map(WarmEntry.init)), progress: nil)
            } catch {
                result.warmFailure = "\(error)"
            }
        }
        lastReport = result.report
        lastManifestFailed = result.manifestFailure != nil
        cyclesHere += 1
        totalCycles += 1
        do {
            try checkpoint()
        } catch {
            result.checkpointFailure = error.description
        }
        result.elapsed = Self.now() - start
        account(result)
        log(result)
    }

    /// Adds a cycle to the metrics.
    private func account(_ result: CycleResult) {
        let refreshed = result.report?.counters["refreshed"] ?? 0
        metrics.update { m in
            // Overlong lines never reach the analysis: the follower skips them.
            m.linesRead = analysis.linesRead + follower.overlongLines
            m.linesMalformed = analysis.linesMalformed + follower.overlongLines
            m.cycles += 1
            m.rotations = follower.rotations
            m.truncations = follower.truncations
            m.warmSetKeys = result.keys
            m.lastCycleSeconds = result.elapsed
            if settings.manifest != nil {
                if result.manifestFailure == nil { m.manifestWrites += 1 } else { m.manifestFailures += 1 }
            }
            if warmer == nil {
                if result.manifestFailure == nil { m.lastSuccessTime = Date().timeIntervalSince1970 }
            } else if let report = result.report {
                m.keysWarmed += report.warmed
                m.keysPresent += report.present
                m.keysRefreshed += refreshed
                m.keysFailed += report.failed
                if report.failed == 0 && !report.stoppedEarly { m.lastSuccessTime = Date().timeIntervalSince1970 }
            } else {
                m.cyclesFailed += 1
            }
        }
    }

    /// The cycle's log line (one; a failed manifest or checkpoint adds one each), ending with
    /// where the cycle went: the cache (its kind and redacted name) and the manifest file.
    private func log(_ result: CycleResult) {
        let lines = "+\(linesSinceCycle) lines (\(totalLines) in all)"
        linesSinceCycle = 0
        let timing = String(format: "%.2f s", result.elapsed)
        var destinations: [String] = []
        if let warmer { destinations.append("\(settings.targetKind ?? "cache") \(warmer.target)") }
        if let manifest = settings.manifest, result.manifestFailure == nil { destinations.append("manifest \(manifest.path)") }
        let whereTo = destinations.isEmpty ? "" : "; " + destinations.joined(separator: ", ")
        if warmer == nil {
            let written = result.manifestFailure == nil ? "written" : "not written"
            logger.info("cycle \(totalCycles): \(lines), \(result.keys) keys \(written) in \(timing)\(whereTo)")
        } else if let report = result.report {
            let refreshed = report.counters["refreshed"] ?? 0
            var text = "cycle \(totalCycles): \(lines), \(result.keys) keys: \(report.warmed) warmed (\(refreshed) refreshed), \(report.present) present, \(report.failed) failed in \(timing)"
            if let reason = report.stopReason { text += "; stopped early: \(reason)" }
            text += whereTo
            if report.failed > 0 || report.stopReason != nil { logger.warning("\(text)") } else { logger.info("\(text)") }
        } else {
            logger.error(
                "cycle \(totalCycles): \(lines), \(result.keys) keys: warm step failed: \(result.warmFailure ?? "unknown"); retrying next cycle\(whereTo)")
        }
        if let failure = result.manifestFailure { logger.error("manifest: \(failure)\(settings.once ? "" : "; retrying next cycle")") }
        if let failure = result.checkpointFailure { logger.error("checkpoint: \(failure)") }
    }

    /// Writes the warm set to the manifest file (when `-o` was given), in the bytes
    /// `warmset analyze -o` writes for the same counts, through a temporary file renamed into
    /// place: a reader sees the previous manifest or this one, never part of one.
    /// - Throws: `EmitError` naming the step that failed; the previous file is then left as it was.
    private func writeManifest(_ keys: [RankedKey]) throws(EmitError) {
        guard let manifest = settings.manifest else { return }
        let bytes: [UInt8]
        switch manifest {
        case .manifest(let format, _):
            // As `Analyzer`'s result: ε·N when sketched, and in score units when weighted or decayed.
            let stats = analysis.stats
            bytes = ManifestRenderer.render(
                keys, format: format, errorBound: stats.exact ? nil : stats.errorBound, scoreBound: stats.weighted ? stats.errorBoundWeight : nil)
        case .urls(let baseURL, _):
            bytes = ManifestRenderer.renderURLs(keys, baseURL: baseURL)
        }
        try OutputFile.write(bytes, to: manifest.path)
    }

    /// Writes the state file (when `--state` was given).
    private func checkpoint() throws(WatchError) {
        guard let path = settings.statePath, let sketch = analysis.snapshot() else { return }
        let state = WatchState(positions: follower.positions, linesRead: totalLines, cycles: totalCycles, sketch: sketch)
        try state.save(to: path)
    }

    static func now() -> Double { Analyzer.now() }
}
