import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetFormat

/// `--strategy`'s list, read the same by backtest (several, compared) and analyze (one, used),
/// and the deploy-time options both take (`--at`, `--window`, `--history`).
enum StrategyArgument {
    /// A comma-separated list: `frequency,recent:1h,season:1d`.
    /// - Throws: `ValidationError` naming the item that does not read.
    static func parseList(_ list: String, history: Int64?) throws -> [BacktestStrategy] {
        try list.split(separator: ",").map { try parse(String($0).trimmed(" "), history: history) }
    }

    /// One item: `frequency`, `recent:1h`, `season:1d`.
    /// - Throws: `ValidationError` with the forms that read.
    static func parse(_ text: String, history: Int64?) throws -> BacktestStrategy {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let usage = "--strategy '\(text)': use frequency, recent:HALF-LIFE (e.g. recent:1h) or season:PERIOD (e.g. season:1d)"
        switch (parts.first, parts.count) {
        case ("frequency", 1): return .frequency(historySeconds: history)
        case ("recent", 2):
            guard let h = Duration.parseSeconds(parts[1]) else { throw ValidationError(usage) }
            return .recent(halfLifeSeconds: h)
        case ("season", 2):
            guard let p = Duration.parseSeconds(parts[1]) else { throw ValidationError(usage) }
            return .season(periodSeconds: p)
        default: throw ValidationError(usage)
        }
    }

    /// `--at`: an ISO 8601 time, epoch seconds.
    /// - Throws: `ValidationError` with the forms that read.
    static func deployTime(_ text: String) throws -> Int64 {
        guard let seconds = LogTime.parseISO8601(text) else {
            throw ValidationError("--at '\(text)': use ISO 8601, e.g. 2026-11-27T09:00:00Z or 2026-11-27T10:00:00+01:00")
        }
        return seconds
    }

    /// `--window`: a duration, seconds.
    /// - Throws: `ValidationError` with the forms that read.
    static func window(_ text: String) throws -> Int64 {
        guard let seconds = Duration.parseSeconds(text) else { throw ValidationError("--window '\(text)': use a duration like 10m or 1h") }
        return seconds
    }

    /// `--history`: a duration, seconds; nil when not given.
    /// - Throws: `ValidationError` with the forms that read.
    static func history(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        guard let seconds = Duration.parseSeconds(text) else { throw ValidationError("--history '\(text)': use a duration like 24h or 7d") }
        return seconds
    }
}

/// analyze's `--strategy`, `--at`, `--history` and `--window`: choose the warm set as
/// `warmset backtest` scores a strategy, for a deploy at a time.
struct StrategyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How requests are scored, as warmset backtest compares them: frequency (requests per key, as without this option), recent:HALF-LIFE (e.g. recent:1h: a request one half-life before --at counts half) or season:PERIOD (e.g. season:1d: requests in the --window after --at−P, --at−2P, … weighted 1, 1/2, …). Multiplies --weight bytes|time. (default: frequency)",
        valueName: "strategy"))
    var strategy: String?

    @Option(help: ArgumentHelp(
        "The deploy time the strategy scores for, ISO 8601 (2026-11-27T09:00:00Z); requests logged after it are not counted. (default: now)",
        valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("With --strategy season:PERIOD: how long after each earlier --at−kP counts, at most the period. (default: 10m)", valueName: "duration"))
    var window: String?

    @Option(help: ArgumentHelp("With --strategy frequency: count only the requests of this long before --at, e.g. 24h. (default: all)", valueName: "duration"))
    var history: String?

    func validate() throws {
        _ = try deployStrategy(now: 0)
    }

    /// The strategy the options ask for, nil for plain counting (no option, or `--strategy
    /// frequency` alone: exactly the counting without these options).
    /// - Parameter now: the deploy time when `--at` is not given (the wall clock at the start).
    /// - Throws: `ValidationError`, one sentence naming the option.
    func deployStrategy(now: Int64) throws -> DeployStrategy? {
        let historySeconds = try StrategyArgument.history(history)
        let chosen = try strategy.map { try StrategyArgument.parse($0.trimmed(" "), history: historySeconds) } ?? .frequency(historySeconds: historySeconds)
        let takes: (history: Bool, window: Bool)
        switch chosen {
        case .frequency: takes = (true, false)
        case .recent: takes = (false, false)
        case .season: takes = (false, true)
        }
        if let history, !takes.history {
            throw ValidationError("--history \(history) limits --strategy frequency; \(chosen) does not take it (drop --history)")
        }
        if let window, !takes.window {
            throw ValidationError("--window \(window) is the window of --strategy season:PERIOD; \(chosen) has none (drop --window)")
        }
        let windowSeconds = try window.map(StrategyArgument.window) ?? 600
        let deployTime = try self.at.map(StrategyArgument.deployTime)
        if chosen == .frequency(historySeconds: nil) && deployTime == nil { return nil }
        return DeployStrategy(chosen, at: deployTime ?? now, windowSeconds: windowSeconds)
    }
}
