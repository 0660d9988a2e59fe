/// Why watch mode could not start or keep its state, naming the file and the fix.
public struct WatchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file concerned (the state file, a log, or the metrics address).
    public var path: String
    /// What went wrong, and what to do.
    public var reason: String

    /// Creates an error.
    public init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    /// One sentence: the file and what went wrong.
    public var description: String { "\(path): \(reason)" }
}
