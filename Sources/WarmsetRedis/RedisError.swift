/// Why warmset could not talk to a Redis server: a URL it cannot use, a connection refused or
/// lost, an authentication or permission refusal, a reply it did not expect. The description
/// names the server (password redacted), what was being done, the server's or hiredis' own
/// message, and the fix where there is one.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that act on it.
    public enum Kind: String, Sendable {
        /// The URL cannot be used.
        case url
        /// TCP or unix socket connect failed.
        case connect
        /// AUTH was refused.
        case auth
        /// The ACL user may not run a command (NOPERM).
        case permission
        /// The connection failed mid-conversation (hiredis REDIS_ERR_IO / EOF / timeout).
        case io
        /// The server answered something warmset cannot use.
        case reply
    }

    /// What went wrong.
    public var kind: Kind
    /// The server, password redacted (`redis://user:***@127.0.0.1:6379/0`).
    public var server: String
    /// What was being done, e.g. `AUTH as 'warmer'`.
    public var operation: String
    /// hiredis' or the server's message.
    public var message: String
    /// hiredis' error code (`redisContext.err`), 0 when the error is the server's reply.
    public var code: Int32
    /// What to do about it, if anything.
    public var hint: String?

    /// Creates an error.
    public init(_ kind: Kind, server: String, operation: String, message: String, code: Int32 = 0, hint: String? = nil) {
        self.kind = kind
        self.server = server
        self.operation = operation
        self.message = message
        self.code = code
        self.hint = hint
    }

    /// One sentence: server, operation, message, hint.
    public var description: String {
        var text = "\(server): \(operation) failed: \(message)"
        if let hint { text += "; \(hint)" }
        return text
    }
}
