import Foundation

/// The result of a warm run: the numbers for the summary, every key that was not warmed with
/// why, and the exit status. `--report FILE.json` writes it as JSON (snake_case keys).
public struct WarmReport: Codable, Sendable {
    /// One key that was not warmed.
    public struct Failure: Codable, Sendable, Equatable {
        /// The key.
        public var key: String
        /// The reason code, e.g. `origin_http_404`.
        public var reason: String
        /// What happened.
        public var detail: String
    }

    /// The cache written to, with secrets redacted (`redis://user:***@host:6379/0`).
    public var target: String
    /// Where values came from: the origin template, or the copy-from URL (redacted).
    public var source: String
    /// Whether this was `--dry-run` (nothing fetched, nothing written).
    public var dryRun: Bool
    /// Keys in the warm set.
    public var total: Int
    /// Keys written.
    public var warmed: Int
    /// Keys already present and left alone.
    public var present: Int
    /// Dry run: keys that would have been fetched and written.
    public var wouldWarm: Int
    /// Keys that failed (including those not attempted because the run stopped).
    public var failed: Int
    /// Keys with no outcome: always 0 unless warmset has a bug.
    public var unaccounted: Int
    /// Failed keys by reason code.
    public var failedByReason: [String: Int]
    /// Value bytes written.
    public var bytesWritten: Int64
    /// Seconds from start to end.
    public var elapsedSeconds: Double
    /// Keys with an outcome per second.
    public var keysPerSecond: Double
    /// Whether the run stopped before trying every key.
    public var stoppedEarly: Bool
    /// Why it stopped.
    public var stopReason: String?
    /// Events: `moved`, `ask` redirects, `origin_retries`, `reconnects`.
    public var counters: [String: Int]
    /// Every key that was not warmed or present.
    public var failures: [Failure]
    /// `--http` runs only: status codes, latencies and bytes received.
    public var http: HTTPStats?

    /// What the requests of an `--http` run saw.
    public struct HTTPStats: Codable, Sendable, Equatable {
        /// Responses by status code (`"200"`, `"404"`…), retried 429/503 included.
        public var statusCounts: [String: Int]
        /// Responses received.
        public var responses: Int
        /// Body bytes received.
        public var bytesReceived: Int64
        /// Latency percentiles in milliseconds (from HdrHistogram, 3 significant digits).
        public var latencyP50Ms: Double
        /// 90th percentile, ms.
        public var latencyP90Ms: Double
        /// 99th percentile, ms.
        public var latencyP99Ms: Double
        /// Largest, ms.
        public var latencyMaxMs: Double
        /// Responses by what the cache said (`hit`, `miss`, `expired`, `stale`, `bypass`…,
        /// `unknown` when no header tells): see `HTTPCacheStatus` in WarmsetHTTP.
        public var cacheStatus: [String: Int] = [:]
        /// With `--http-node`: the requests of each node, in the order given.
        public var nodes: [NodeStats]?
        /// With `--verify`: what the second requests of a sample of warmed keys said.
        public var verify: VerifyStats?

        /// The requests of one node of a fleet.
        public struct NodeStats: Codable, Sendable, Equatable {
            /// `host:port`.
            public var node: String
            /// Requests sent (retried 429/503 included).
            public var requests: Int
            /// Node × variant requests whose last response warmed the key (a 2xx, or a 3xx not
            /// followed).
            public var ok: Int
            /// Node × variant requests that did not.
            public var failed: Int
            /// Responses by status code.
            public var statusCounts: [String: Int]
            /// Responses by cache status, as `cacheStatus`.
            public var cacheStatus: [String: Int]

            /// Creates the numbers of `node`.
            public init(node: String, requests: Int, ok: Int, failed: Int, statusCounts: [String: Int], cacheStatus: [String: Int]) {
                self.node = node
                self.requests = requests
                self.ok = ok
                self.failed = failed
                self.statusCounts = statusCounts
                self.cacheStatus = cacheStatus
            }
        }

        /// What `--verify` found: every sampled key requested again on every node × variant.
        public struct VerifyStats: Codable, Sendable, Equatable {
            /// Keys sampled (the first warmed keys of the plan, by rank).
            public var keys: Int
            /// Requests sent: keys × nodes × variants.
            public var requests: Int
            /// Responses the cache called a hit.
            public var hits: Int
            /// Responses the cache called a miss.
            public var misses: Int
            /// Responses with another cache status (`expired`, `stale`, `bypass`…).
            public var other: Int
            /// Responses with no cache status header (nor `Age`).
            public var unknown: Int
            /// Requests with no response or a status that does not warm.
            public var failed: Int
            /// `hits / requests`, 0 when nothing was sent.
            public var hitShare: Double

            /// Creates the numbers.
            public init(keys: Int, requests: Int, hits: Int, misses: Int, other: Int, unknown: Int, failed: Int) {
                self.keys = keys
                self.requests = requests
                self.hits = hits
                self.misses = misses
                self.other = other
                self.unknown = unknown
                self.failed = failed
                self.hitShare = requests > 0 ? Double(hits) / Double(requests) : 0
            }
        }

        /// Creates the numbers.
        public init(
            statusCounts: [String: Int], responses: Int, bytesReceived: Int64, latencyP50Ms: Double, latencyP90Ms: Double,
            latencyP99Ms: Double, latencyMaxMs: Double
        ) {
            self.statusCounts = statusCounts
            self.responses = responses
            self.bytesReceived = bytesReceived
            self.latencyP50Ms = latencyP50Ms
            self.latencyP90Ms = latencyP90Ms
            self.latencyP99Ms = latencyP99Ms
            self.latencyMaxMs = latencyMaxMs
        }
    }

    /// The process exit status: 0 every key warmed or present, 2 some failed but the run went
    /// to the end, 1 the run stopped early.
    public var exitStatus: Int32 {
        if stoppedEarly || unaccounted != 0 { return 1 }
        return failed > 0 ? 2 : 0
    }

    /// The report as pretty-printed JSON with snake_case keys, sorted.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array(try encoder.encode(self)) + [0x0A]
    }
}
