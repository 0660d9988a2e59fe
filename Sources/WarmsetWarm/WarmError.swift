/// Why a warm run could not start or could not go on: a bad option value, a template that does
/// not parse, a manifest that cannot be read, an origin client that cannot be built.
public struct WarmError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being set up or done, e.g. `--origin` or `--ttl-jitter`.
    public var subject: String
    /// What is wrong, and where possible the fix.
    public var message: String

    /// Creates an error about `subject`.
    public init(_ subject: String, _ message: String) {
        self.subject = subject
        self.message = message
    }

    /// One sentence: the subject, then what is wrong.
    public var description: String { "\(subject): \(message)" }
}
