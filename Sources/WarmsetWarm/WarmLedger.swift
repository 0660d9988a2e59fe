import Synchronization

/// Why one key was not warmed: a stable reason code for counting, and a detail for people.
public struct KeyFailure: Sendable, Equatable, Error {
    /// A stable code, e.g. `origin_http_404`, `origin_timeout`, `node_down`, `not_attempted`.
    public var reason: String
    /// What happened, e.g. `GET http://api/products/7 returned 404`.
    public var detail: String

    /// Creates a failure.
    public init(_ reason: String, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// The key was never tried because the run stopped first.
    public static func notAttempted(_ why: String) -> KeyFailure { KeyFailure("not_attempted", why) }
}

/// The outcome accounting of one warm run, shared by every worker thread: every key of the plan
/// ends up counted exactly once, as warmed, present (or would-warm in a dry run), or failed with
/// its reason.
public final class WarmLedger: Sendable {
    struct State {
        var warmed = 0
        var present = 0
        var wouldWarm = 0
        var bytesWritten: Int64 = 0
        var failedByReason: [String: Int] = [:]
        var failures: [WarmReport.Failure] = []
        var counters: [String: Int] = [:]
        var stopReason: String?
    }

    /// Keys in the plan.
    public let total: Int
    /// When to stop early.
    public let limit: FailureLimit
    let started: Double
    let state = Mutex(State())

    /// A ledger for a plan of `total` keys.
    public init(total: Int, limit: FailureLimit) {
        self.total = total
        self.limit = limit
        self.started = TokenBucket.now()
    }

    /// Counts `count` keys written (one by default), with the value bytes sent.
    public func warmed(count: Int = 1, bytes: Int) {
        guard count > 0 else { return }
        state.withLock {
            $0.warmed += count
            $0.bytesWritten += Int64(bytes)
        }
    }

    /// Counts keys already present (left alone).
    public func present(_ count: Int = 1) { state.withLock { $0.present += count } }

    /// Dry run: counts keys that would be fetched and written.
    public func wouldWarm(_ count: Int = 1) { state.withLock { $0.wouldWarm += count } }

    /// Counts a failed key; stops the run when the failure limit is exceeded.
    public func failed(key: String, _ failure: KeyFailure) {
        state.withLock { s in
            s.failedByReason[failure.reason, default: 0] += 1
            s.failures.append(WarmReport.Failure(key: key, reason: failure.reason, detail: failure.detail))
            let failed = s.failures.count
            if s.stopReason == nil, failure.reason != "not_attempted", limit.isExceeded(failed: failed, total: total) {
                s.stopReason = "more than the failure limit (\(limit.description)) of keys failed"
            }
        }
    }

    /// Adds `n` to a named event counter (redirects, retries, reconnects…), shown in the report.
    public func count(_ name: String, _ n: Int = 1) { state.withLock { $0.counters[name, default: 0] += n } }

    /// Stops the run (workers check `isStopped` between batches).
    public func stop(_ reason: String) {
        state.withLock { if $0.stopReason == nil { $0.stopReason = reason } }
    }

    /// Why the run was stopped, or nil.
    public var stopReason: String? { state.withLock { $0.stopReason } }

    /// Whether the run has been stopped.
    public var isStopped: Bool { state.withLock { $0.stopReason != nil } }

    /// Keys accounted for so far.
    public var done: Int { state.withLock { $0.warmed + $0.present + $0.wouldWarm + $0.failures.count } }

    /// A progress snapshot.
    public func progress() -> WarmProgress {
        state.withLock { s in
            WarmProgress(
                total: total, warmed: s.warmed, present: s.present, wouldWarm: s.wouldWarm, failed: s.failures.count,
                elapsed: TokenBucket.now() - started)
        }
    }

    /// The report. Keys the plan holds but no outcome covers would be a bug; `report` checks the
    /// sum so that it can never hide one.
    public func report(target: String, source: String, dryRun: Bool) -> WarmReport {
        state.withLock { s in
            let elapsed = TokenBucket.now() - started
            let failed = s.failures.count
            let done = s.warmed + s.present + s.wouldWarm
            return WarmReport(
                target: target, source: source, dryRun: dryRun, total: total, warmed: s.warmed, present: s.present,
                wouldWarm: s.wouldWarm, failed: failed, unaccounted: total - done - failed,
                failedByReason: s.failedByReason, bytesWritten: s.bytesWritten, elapsedSeconds: elapsed,
                keysPerSecond: elapsed > 0 ? Double(done + failed) / elapsed : 0, stoppedEarly: s.stopReason != nil,
                stopReason: s.stopReason, counters: s.counters, failures: s.failures)
        }
    }
}

extension FailureLimit: CustomStringConvertible {
    /// `none`, `100` or `5%`.
    public var description: String {
        switch self {
        case .unlimited: return "none"
        case .count(let n): return String(n)
        case .share(let s): return "\(s * 100)%"
        }
    }
}

/// Where a run is, for a progress line.
public struct WarmProgress: Sendable {
    /// Keys in the plan.
    public var total: Int
    /// Keys written so far.
    public var warmed: Int
    /// Keys found present so far.
    public var present: Int
    /// Dry run: keys that would be written.
    public var wouldWarm: Int
    /// Keys failed so far.
    public var failed: Int
    /// Seconds since the start.
    public var elapsed: Double

    /// Keys with an outcome.
    public var done: Int { warmed + present + wouldWarm + failed }
}
