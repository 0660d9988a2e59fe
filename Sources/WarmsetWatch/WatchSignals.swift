#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// SIGTERM, SIGINT and SIGHUP turned into requests the watch loop checks between steps.
///
/// The signals are blocked and taken by one thread with `sigwait(3)`: no C signal handler runs
/// at all, so nothing unsafe can happen inside one. `install()` must run before other threads
/// are started (they inherit the blocked mask). Blocking also makes the signals work when the
/// parent started this process with them blocked (as test runners do).
public final class WatchSignals: Sendable {
    struct Requests {
        var stop: Int32?
        var reopen = false
    }

    private let requests = Mutex(Requests())
    private let wake = DispatchSemaphore(value: 0)

    /// Creates the request flags; `install()` starts taking signals.
    public init() {}

    /// Blocks SIGTERM, SIGINT and SIGHUP on this thread (and so on the threads it starts next)
    /// and starts the thread that takes them.
    public func install() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let thread = Thread { [self] in
            var waiting = blocked
            while true {
                var taken: Int32 = 0
                guard sigwait(&waiting, &taken) == 0 else { continue }
                receive(taken)
            }
        }
        thread.name = "warmset-signals"
        thread.start()
    }

    /// Records a signal and wakes the loop (also how tests simulate one).
    public func receive(_ signal: Int32) {
        requests.withLock { r in
            if signal == SIGHUP { r.reopen = true } else if r.stop == nil { r.stop = signal }
        }
        wake.signal()
    }

    /// The signal that asked to stop (SIGTERM or SIGINT), if one did.
    public var stopSignal: Int32? { requests.withLock { $0.stop } }

    /// True once after SIGHUP.
    public func takeReopen() -> Bool {
        requests.withLock { r in
            defer { r.reopen = false }
            return r.reopen
        }
    }

    /// Sleeps up to `seconds`, or until a signal arrives.
    public func sleep(_ seconds: Double) {
        _ = wake.wait(timeout: .now() + seconds)
    }

    /// The signal's name, e.g. `SIGTERM`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}
