import WarmsetKeys
import WarmsetSketch

/// What a run did, for the summary on stderr and `--summary-json`.
public struct AnalysisSummary: Codable, Sendable {
    /// One input.
    public struct Input: Codable, Sendable {
        /// As given; `-` is stdin.
        public var path: String
        /// Whether gzip was detected.
        public var gzip: Bool
        /// On-disk bytes read.
        public var compressedBytes: Int64
        /// Decoded bytes read.
        public var bytes: Int64
        /// Lines read.
        public var lines: Int
        /// The error that stopped it, if any.
        public var error: String?
        /// For a sketch input: the requests it counted (its `bytes` and `lines` are 0).
        public var sketchRequests: UInt64? = nil
    }

    /// The counting mode and its parameters.
    public struct Counting: Codable, Sendable {
        /// `sketch` or `exact`.
        public var mode: String
        /// Sketch rows.
        public var depth: Int?
        /// Sketch row width.
        public var width: Int?
        /// ε.
        public var epsilon: Double?
        /// δ.
        public var delta: Double?
        /// ε·N: every count is at most this much above the true count (with probability 1-δ).
        public var errorBound: UInt64
        /// Bytes the counter holds.
        public var memoryBytes: Int
        /// ε·N in score units, when ranking by weight or decayed weight.
        public var errorBoundWeight: Double? = nil
        /// Any key that is not a candidate has a true count (or weight) of at most this.
        public var missBound: Double? = nil
        /// Candidate keys tracked (sketch mode).
        public var candidates: Int? = nil
        /// `requests`, `bytes` or `time`.
        public var weight: String? = nil
        /// The decay half-life in seconds, when decaying.
        public var halfLifeSeconds: Int64? = nil
        /// `conservative` or `plain` update (sketch mode).
        public var update: String? = nil
        /// True when counts were recounted exactly in a second pass (`--recount`).
        public var recounted: Bool? = nil
    }

    /// Inputs, in order.
    public var inputs: [Input] = []
    /// Lines read (including malformed and overlong ones).
    public var linesRead = 0
    /// Lines that matched the format.
    public var linesParsed = 0
    /// Lines that did not match the format, or were too long.
    public var linesMalformed = 0
    /// The first malformed lines, as `file:line: reason`.
    public var malformedSamples: [String] = []
    /// Requests not counted, by reason.
    public var filtered: [String: Int] = [:]
    /// Requests counted.
    public var requestsCounted: UInt64 = 0
    /// The total weight counted, when ranking by weight or decayed weight (score units).
    public var weightCounted: Double?
    /// How the warm set was chosen, and the coverage curve.
    public var selection: SelectionSummary?
    /// Distinct keys (exact, or estimated in sketch mode; nil when too many to estimate).
    public var distinctKeys: Double?
    /// Counting mode, parameters and memory.
    public var counting = Counting(mode: "sketch", errorBound: 0, memoryBytes: 0)
    /// Keys in the manifest.
    public var keysEmitted = 0
    /// Peak resident memory of the process.
    public var peakRSSBytes = 0
    /// Wall time.
    public var elapsedSeconds = 0.0
    /// Decoded bytes per second, in MB (10^6).
    public var megabytesPerSecond = 0.0
    /// Lines per second.
    public var linesPerSecond = 0.0
    /// True when some input could not be read: the counts miss part of the logs.
    public var partial = false
    /// True when malformed lines exceeded the allowed share.
    public var tooManyMalformed = false
    /// Input errors, one sentence each.
    public var errors: [String] = []
    /// Notes about options that did not apply.
    public var notes: [String] = []
    /// The share of the counted requests covered by the emitted keys.
    public var coverageOfEmitted = 0.0
}
