import Foundation
import Prometheus
import Synchronization

/// The numbers an operator watches, in Prometheus text exposition format (version 0.0.4).
///
/// Written by the watch loop, read by the metrics listener's threads; kept in a
/// swift-prometheus registry, which renders the text.
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
        /// Unix time of the end of the last cycle whose warm step ran without failed keys (with
        /// no warm target: whose manifest was written).
        public var lastSuccessTime = 0.0
        /// Manifests written (`-o`).
        public var manifestWrites = 0
        /// Cycles whose manifest could not be written (the previous one stayed in place).
        public var manifestFailures = 0
    }

    private let values = Mutex(Values())
    private let registry: PrometheusCollectorRegistry
    private let counters: [(Counter, @Sendable (Values) -> Int)]
    private let gauges: [(Gauge, @Sendable (Values) -> Double)]

    /// Creates zeroed metrics, registered in their own Prometheus registry.
    /// - Parameter targetKind: the kind of cache warmed (`redis`, `memcached`, `http`, or `none`
    ///   for a watch that only writes a manifest), exposed as
    ///   `warmset_watch_target_info{kind="…"} 1`; nil exposes no target.
    public init(targetKind: String? = nil) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        if let targetKind {
            let info = Self.descriptor("warmset_watch_target_info", "The kind of cache this watch keeps warm (the value is always 1).")
            registry.makeGauge(descriptor: info, labels: [("kind", targetKind)]).set(1.0)
        }
        func counter(_ name: String, _ help: String, _ value: @escaping @Sendable (Values) -> Int) -> (Counter, @Sendable (Values) -> Int) {
            (registry.makeCounter(descriptor: Self.descriptor(name, help)), value)
        }
        func gauge(_ name: String, _ help: String, _ value: @escaping @Sendable (Values) -> Double) -> (Gauge, @Sendable (Values) -> Double) {
            (registry.makeGauge(descriptor: Self.descriptor(name, help)), value)
        }
        counters = [
            counter("warmset_watch_lines_read_total", "Log lines read.") { $0.linesRead },
            counter("warmset_watch_lines_malformed_total", "Log lines that did not match the format.") { $0.linesMalformed },
            counter("warmset_watch_keys_warmed_total", "Keys written to the cache (including refreshed ones).") { $0.keysWarmed },
            counter("warmset_watch_keys_present_total", "Keys found present with enough TTL left and left alone.") { $0.keysPresent },
            counter("warmset_watch_keys_refreshed_total", "Present keys rewritten because their remaining TTL was below --refresh-below.") { $0.keysRefreshed },
            counter("warmset_watch_keys_failed_total", "Keys that could not be warmed.") { $0.keysFailed },
            counter("warmset_watch_cycles_total", "Warm cycles run.") { $0.cycles },
            counter("warmset_watch_cycles_failed_total", "Warm cycles whose warm step could not run.") { $0.cyclesFailed },
            counter("warmset_watch_rotations_total", "Log rotations seen.") { $0.rotations },
            counter("warmset_watch_truncations_total", "Log truncations (copy-and-truncate) seen.") { $0.truncations },
            counter("warmset_watch_manifest_writes_total", "Manifests written (-o).") { $0.manifestWrites },
            counter("warmset_watch_manifest_failures_total", "Cycles whose manifest could not be written; the previous one stayed in place.") { $0.manifestFailures },
        ]
        gauges = [
            gauge("warmset_watch_warm_set_keys", "Keys in the last warm set.") { Double($0.warmSetKeys) },
            gauge("warmset_watch_cycle_duration_seconds", "Seconds the last cycle took.") { $0.lastCycleSeconds },
            gauge("warmset_watch_last_success_timestamp_seconds", "Unix time the last fully successful cycle ended.") { $0.lastSuccessTime },
        ]
    }

    /// The descriptor of the metric `name`: its last word (`total`, `seconds`, `keys`) as the
    /// unit, the rest as the metric name, so that the exposed name is `name` itself.
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        let cut = name.lastIndex(of: "_") ?? name.endIndex
        let unit = cut < name.endIndex ? String(name[name.index(after: cut)...]) : ""
        return MetricNameDescriptor(metricName: String(name[..<cut]), unitName: unit, helpText: help)
    }

    /// Changes the values; the Prometheus counters grow by the differences, the gauges are set.
    public func update(_ body: (inout Values) -> Void) {
        values.withLock { v in
            let before = v
            body(&v)
            for (counter, value) in counters {
                let delta = value(v) - value(before)
                if delta > 0 { counter.increment(by: Int64(delta)) }
            }
            for (gauge, value) in gauges { gauge.set(value(v)) }
        }
    }

    /// The current values.
    public var current: Values { values.withLock { $0 } }

    /// The exposition text.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
