import Foundation

// State the tests share between threads. Both types use NSLock / NSCondition (a pthread mutex
// and condition variable), whose hand-over ThreadSanitizer sees; see docs/tsan.md for why not
// Synchronization.Mutex here.

/// A value one thread sets and another reads.
final class Mutexed<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    private var wasSet = false
    init(_ value: T) { stored = value }
    func update(_ body: (inout T) -> Void) {
        lock.lock()
        body(&stored)
        lock.unlock()
    }
    func set(_ value: T) {
        lock.lock()
        stored = value
        wasSet = true
        lock.unlock()
    }
    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return wasSet
    }
}

/// A value one thread hands to others once: `put(_:)`, then every `wait` returns it.
final class Handoff<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?  // under `condition`

    init() {}

    /// Hands `newValue` over and wakes the waiters (a second put replaces it).
    func put(_ newValue: Value) {
        condition.lock()
        value = newValue
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until a value was put; that value.
    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value { return value }
            condition.wait()
        }
    }

    /// Blocks until a value was put or `deadline` passed; the value, or nil at the deadline.
    func wait(until deadline: Date) -> Value? {
        condition.lock()
        defer { condition.unlock() }
        while value == nil && condition.wait(until: deadline) {}
        return value
    }
}

/// A server process that a test starts, and kills or restarts perhaps from another thread (a
/// helper thread kills it mid-run, the test starts it again): the running `Process` is kept under
/// a lock, and a kill takes it out before signalling it.
final class ServerProcess: @unchecked Sendable {
    private let current = Mutexed<Process?>(nil)

    /// Runs `process` as the server (the earlier one, if any, must have been killed).
    func run(_ process: Process) throws {
        try process.run()
        current.set(process)
    }

    /// SIGKILLs the server if it runs, as in a crash, and waits for it to exit. SIGKILL, not
    /// SIGTERM: the test runner's threads block SIGTERM and its children inherit that mask, so a
    /// SIGTERM would wait forever.
    func kill() {
        var taken: Process?
        current.update { process in
            taken = process
            process = nil
        }
        guard let taken, taken.isRunning else { return }
        Foundation.kill(taken.processIdentifier, SIGKILL)
        taken.waitUntilExit()
    }
}
