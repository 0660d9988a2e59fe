/// Why a log format could not be compiled.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// One sentence naming the problem and the fix.
    public let description: String

    init(_ description: String) { self.description = description }
}
