/// Why a key rule, a filter or a pattern could not be compiled.
public struct KeyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// One sentence naming the rule or option and the fix.
    public let description: String

    /// Creates an error with its sentence.
    public init(_ description: String) { self.description = description }
}
