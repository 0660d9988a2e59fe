#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BacktestStrategy {
    /// What one request logged at `t` adds to its key's score for a deploy at `T`: the one
    /// scoring rule of `warmset backtest` and `analyze --strategy`. 0 means not counted (logged
    /// after T, before `--history`, or outside every season window).
    ///
    /// - frequency: 1 for t in (T−history, T] (all t ≤ T without history).
    /// - recent:H: 2^((t−T)/H), analyze's `--half-life` weights taken relative to T (T is known,
    ///   so the exponent stays ≤ 0 and no landmark is needed).
    /// - season:P: 1/k for t in (T−kP, T−kP+window], k ≥ 1.
    /// - Parameters:
    ///   - t: the request's log time, epoch seconds.
    ///   - T: the deploy time, epoch seconds.
    ///   - windowSeconds: season's window (at most its period); the other strategies ignore it.
    /// - Complexity: O(1).
    @inline(__always)
    public func weight(ofRequestAt t: Int64, deployAt T: Int64, windowSeconds: Int64) -> Double {
        guard t <= T else { return 0 }
        switch self {
        case .frequency(let history):
            guard let history else { return 1 }
            return t > T - history ? 1 : 0
        case .recent(let halfLife):
            return exp2(Double(t - T) / Double(halfLife))
        case .season(let period):
            // A request d seconds before T is in period k's window (T−kP, T−kP+window] when
            // kP > d and kP ≤ d + window: k = d/P + 1, at most one k as window ≤ P.
            let d = T - t
            let k = d / period + 1
            return k * period <= d + windowSeconds ? 1 / Double(k) : 0
        }
    }
}
