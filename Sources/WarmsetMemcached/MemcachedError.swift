/// Why a memcached warm run could not start: a server list that does not parse, a pool
/// libmemcached will not build, or no node of the pool answering.
public struct MemcachedError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done, e.g. `--memcached 'cache1:11211'` or `add on 127.0.0.1:11211`.
    public var subject: String
    /// libmemcached's return code (`memcached_return_t`), when the error came from it.
    public var code: UInt32?
    /// What is wrong (libmemcached's message when it came from there), and where possible the fix.
    public var message: String

    /// Creates an error about `subject`.
    public init(_ subject: String, _ message: String, code: UInt32? = nil) {
        self.subject = subject
        self.message = message
        self.code = code
    }

    /// One sentence: the subject, then what is wrong.
    public var description: String { "\(subject): \(message)" }
}
