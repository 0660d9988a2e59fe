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
