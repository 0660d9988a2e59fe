import Foundation
import Synchronization

/// The numbers an operator watches, in Prometheus text exposition format (version 0.0.4).
///
/// Written by the watch loop, read by the metrics listener's threads.
public final class WatchMetrics: Sendable {
    /// The values; counters only grow.
    public struct Values: Sendable, Equatable {
        /// Log lines read (this process).
        public var linesRead = 0
        /// Lines that did not parse.
        public var linesMalformed = 0
        /// Keys written by the warmer (including refreshed ones).
        public var keysWarmed = 0
        /// Keys found present and left alone.
        public var keysPresent = 0
        /// Present keys rewritten because their TTL ran low (`--refresh-below`).
        public var keysRefreshed = 0
        /// Keys that failed.
        public var keysFailed = 0
        /// Cycles run.
        public var cycles = 0
        /// Cycles whose warm step could not run at all (e.g. the cache was unreachable).
        public var cyclesFailed = 0
        /// Rotations seen.
        public var rotations = 0
        /// Truncations seen.
        public var truncations = 0
        /// Keys in the last warm set.
        public var warmSetKeys = 0
        /// Seconds the last cycle took.
        public var lastCycleSeconds = 0.0
        /// Unix time of the end of the last cycle whose warm step ran without failed keys.
        public var lastSuccessTime = 0.0
    }

    private let values = Mutex(Values())

    /// Creates zeroed metrics.
    public init() {}

    /// Changes the values.
    public func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }

    /// The current values.
    public var current: Values { values.withLock { $0 } }

    /// The exposition text.
    public func render() -> String {
        let v = current
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("warmset_watch_lines_read_total", "counter", "Log lines read.", String(v.linesRead))
        metric("warmset_watch_lines_malformed_total", "counter", "Log lines that did not match the format.", String(v.linesMalformed))
        metric("warmset_watch_keys_warmed_total", "counter", "Keys written to the cache (including refreshed ones).", String(v.keysWarmed))
        metric("warmset_watch_keys_present_total", "counter", "Keys found present with enough TTL left and left alone.", String(v.keysPresent))
        metric("warmset_watch_keys_refreshed_total", "counter", "Present keys rewritten because their remaining TTL was below --refresh-below.", String(v.keysRefreshed))
        metric("warmset_watch_keys_failed_total", "counter", "Keys that could not be warmed.", String(v.keysFailed))
        metric("warmset_watch_cycles_total", "counter", "Warm cycles run.", String(v.cycles))
        metric("warmset_watch_cycles_failed_total", "counter", "Warm cycles whose warm step could not run.", String(v.cyclesFailed))
        metric("warmset_watch_rotations_total", "counter", "Log rotations seen.", String(v.rotations))
        metric("warmset_watch_truncations_total", "counter", "Log truncations (copy-and-truncate) seen.", String(v.truncations))
        metric("warmset_watch_warm_set_keys", "gauge", "Keys in the last warm set.", String(v.warmSetKeys))
        metric("warmset_watch_cycle_duration_seconds", "gauge", "Seconds the last cycle took.", String(v.lastCycleSeconds))
        metric("warmset_watch_last_success_timestamp_seconds", "gauge", "Unix time the last fully successful cycle ended.", String(v.lastSuccessTime))
        return out
    }
}
