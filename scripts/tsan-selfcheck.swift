// `make tsan`'s self-check (scripts/tsan.sh): built with -sanitize=thread and run under the
// options the suite runs under, before the suite. ThreadSanitizer must report the race in
// `deliberateRace`, or a clean suite would prove nothing; and nothing for `mutexCount`, which
// counts through a Synchronization.Mutex and gets the right total: the false positive that
// .tsan-suppressions removes (docs/tsan.md).
import Foundation
import Synchronization

final class Shared: @unchecked Sendable {
    var value = 0
    let written = Atomic<Bool>(false)
}

/// Runs each body on a thread of its own, and returns once all have ended (joined through an
/// NSCondition, which ThreadSanitizer sees).
func onThreads(_ bodies: [@Sendable () -> Void]) {
    let finished = NSCondition()
    nonisolated(unsafe) var running = bodies.count  // only under `finished`
    for body in bodies {
        Thread {
            body()
            finished.lock()
            running -= 1
            finished.signal()
            finished.unlock()
        }.start()
    }
    finished.lock()
    while running > 0 { finished.wait() }
    finished.unlock()
}

/// A data race, every run: one thread writes, the other writes once it sees a relaxed atomic
/// flag, which orders nothing.
func deliberateRace() {
    let shared = Shared()
    onThreads([
        {
            shared.value = 1
            shared.written.store(true, ordering: .relaxed)
        },
        {
            while !shared.written.load(ordering: .relaxed) {}
            shared.value = 2
        },
    ])
}

/// No race: two threads add 1 through a Mutex, 200,000 times each, and the total is right.
/// Reported on this toolchain unless suppressed (when the threads contend, which they do).
func mutexCount() -> Int {
    let total = Mutex(0)
    let add: @Sendable () -> Void = { for _ in 0..<200_000 { total.withLock { $0 += 1 } } }
    onThreads([add, add])
    return total.withLock { $0 }
}

deliberateRace()
let total = mutexCount()
print("Mutex total \(total) of 400000")
exit(total == 400_000 ? 0 : 1)
