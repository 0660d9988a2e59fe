/// A Redis reply, copied out of hiredis' `redisReply` so that it outlives `freeReplyObject`.
public enum RedisReply: Sendable, Equatable {
    /// A bulk string (bytes).
    case string([UInt8])
    /// A status reply such as `OK`.
    case status(String)
    /// An integer.
    case integer(Int64)
    /// A nil bulk string or array.
    case null
    /// An error reply such as `MOVED 3999 127.0.0.1:6381`.
    case error(String)
    /// An array.
    case array([RedisReply])

    /// A bulk or status string as text.
    var text: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    /// The integer, or a bulk string holding one.
    var int: Int64? {
        switch self {
        case .integer(let n): return n
        case .string, .status: return text.flatMap { Int64($0) }
        default: return nil
        }
    }
}

/// A command as its arguments' bytes (sent with `redisAppendCommandArgv`, so keys and values
/// are never parsed as a format string).
public typealias RedisCommand = [[UInt8]]

extension Array where Element == [UInt8] {
    /// A command from text arguments and binary ones.
    static func command(_ name: String, _ arguments: [UInt8]...) -> RedisCommand {
        var command: RedisCommand = [[UInt8](name.utf8)]
        command.append(contentsOf: arguments)
        return command
    }
}
