import ArgumentParser
import WarmsetAnalysis

/// `--strategy`'s list, read the same by backtest (several, compared) and analyze (one, used).
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
}
