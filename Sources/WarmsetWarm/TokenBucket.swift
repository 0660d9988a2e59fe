import Foundation
import Synchronization

/// One global rate limit (`--rate N/s`) for every worker thread, with a shared pause for
/// back-off (`Retry-After`): when the origin says "slow down", everyone waits.
///
/// The bucket holds at most one second of tokens, so a run never bursts above the rate for
/// longer than that.
public final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: Double
        var pausedUntil: Double
    }

    /// Tokens per second, or nil for no limit.
    public let rate: Double?
    private let state: Mutex<State>
    /// Whether `pause` was ever called: until then an unlimited bucket gives every token at
    /// once, without its lock or a clock read (one of each per request otherwise).
    private let everPaused = Atomic(false)

    /// A bucket refilling at `rate` tokens per second (nil: unlimited, but pauses still apply).
    public init(rate: Double?) {
        self.rate = rate
        let burst = rate.map { max(1, $0 / 10) } ?? 0
        self.state = Mutex(State(tokens: burst, last: Self.now(), pausedUntil: 0))
    }

    /// Blocks the calling thread until a token is available and no pause is in force.
    public func acquire() {
        while true {
            let wait = reserve()
            if wait <= 0 { return }
            Thread.sleep(forTimeInterval: min(wait, 1))
        }
    }

    /// Takes a token without blocking, for callers on an event loop: 0 when one was taken, else
    /// the seconds to wait (for the pause to end, or the bucket to refill) before asking again.
    public func reserve() -> Double {
        if rate == nil && !everPaused.load(ordering: .acquiring) { return 0 }
        return state.withLock { s in
            let now = Self.now()
            if s.pausedUntil > now { return s.pausedUntil - now }
            guard let rate else { return 0 }
            s.tokens = min(max(1, rate), s.tokens + (now - s.last) * rate)
            s.last = now
            if s.tokens >= 1 {
                s.tokens -= 1
                return 0
            }
            return (1 - s.tokens) / rate
        }
    }

    /// Makes every `acquire` wait until `seconds` from now (a later pause wins).
    public func pause(seconds: Double) {
        state.withLock { s in
            s.pausedUntil = max(s.pausedUntil, Self.now() + seconds)
        }
        everPaused.store(true, ordering: .releasing)
    }

    /// Seconds on a monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
