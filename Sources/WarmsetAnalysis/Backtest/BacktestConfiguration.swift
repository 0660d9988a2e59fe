/// What chooses a warm set from the requests logged at or before the deploy time T.
public enum BacktestStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Requests per key over all history at or before T, or over the last `historySeconds` before it.
    case frequency(historySeconds: Int64?)
    /// Requests per key decayed with this half-life: a request one half-life before T counts
    /// half (the weights of analyze's `--half-life`).
    case recent(halfLifeSeconds: Int64)
    /// Requests per key in the same window of each earlier period, (T−kP, T−kP+window] for
    /// k = 1, 2, …, weighted 1/k (the nearest period counts most).
    case season(periodSeconds: Int64)

    /// The name as given to `--strategy`: `frequency`, `recent:1h`, `season:1d`.
    public var description: String {
        switch self {
        case .frequency: return "frequency"
        case .recent(let h): return "recent:\(Self.duration(h))"
        case .season(let p): return "season:\(Self.duration(p))"
        }
    }

    /// Seconds in the largest unit that divides them: 86400 → `1d`, 5400 → `90m`.
    public static func duration(_ seconds: Int64) -> String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where seconds % size == 0 && seconds > 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}

/// Everything `warmset backtest` is told, as plain values.
public struct BacktestConfiguration: Sendable {
    /// Inputs, format, filters and keys: exactly analyze's (its counting, selection, weight and
    /// output fields are not read).
    public var analysis = AnalysisConfiguration()
    /// The deploy times (epoch seconds); empty means one, the newest log time minus `windowSeconds`.
    public var at: [Int64] = []
    /// How long after T the traffic is measured.
    public var windowSeconds: Int64 = 600
    /// The warm-set sizes N.
    public var tops: [Int] = [1000, 5000, 20000]
    /// The strategies, in the order given.
    public var strategies: [BacktestStrategy] = [.frequency(historySeconds: nil), .recent(halfLifeSeconds: 3600), .season(periodSeconds: 86_400)]

    /// Sketch mode's memory for the history counters, shared by every deploy time and
    /// strategy; nil for exact counting (the default).
    public var sketchMemoryBytes: Int?

    /// The defaults.
    public init() {}

    /// Checks what can be checked before reading a line.
    /// - Throws: `ConfigurationError`, one sentence naming the option.
    public func validate() throws(ConfigurationError) {
        guard windowSeconds >= 1 else { throw ConfigurationError("--window must be at least 1s, e.g. 10m") }
        guard !tops.isEmpty, tops.allSatisfy({ $0 >= 1 }) else { throw ConfigurationError("--top takes sizes of at least 1, e.g. 1000,5000,20000") }
        if sketchMemoryBytes != nil && at.isEmpty {
            throw ConfigurationError(
                "--sketch-memory counts the history before each deploy time while the logs are read, so it needs the deploy times up front; give --at, or drop --sketch-memory to count exactly")
        }
        guard !strategies.isEmpty else { throw ConfigurationError("--strategy needs at least one strategy, e.g. frequency,recent:1h,season:1d") }
        for case .season(let period) in strategies where period < windowSeconds {
            throw ConfigurationError(
                "season:\(BacktestStrategy.duration(period)) is shorter than --window \(BacktestStrategy.duration(windowSeconds)), so its windows would reach past T; give a period of at least the window")
        }
    }
}
