import CHiredis

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

/// A reply as hiredis holds it, borrowed for the length of one callback and never copied: what
/// the warm logic sees of a reply (a value is read straight from hiredis' buffer into the next
/// write). The bytes are valid only during the callback that handed the reply out; `owned`
/// copies it when it must outlive that.
enum ReplyView {
    /// A bulk string's bytes.
    case string(UnsafeRawBufferPointer)
    /// A status reply's text, such as `OK`.
    case status(UnsafeRawBufferPointer)
    /// An error reply's text, such as `BUSYKEY Target key name already exists.`.
    case error(UnsafeRawBufferPointer)
    /// An integer.
    case integer(Int64)
    /// A nil bulk string or array.
    case null
    /// An array.
    case array(ReplyElements)

    /// The view of a hiredis reply; RESP3 types (which warmset never asks for: no HELLO 3) read
    /// as bulk strings.
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS: self = .status(Self.bytes(r))
        case REDIS_REPLY_ERROR: self = .error(Self.bytes(r))
        case REDIS_REPLY_INTEGER: self = .integer(Int64(r.integer))
        case REDIS_REPLY_NIL: self = .null
        case REDIS_REPLY_ARRAY: self = .array(ReplyElements(reply))
        default: self = .string(Self.bytes(r))
        }
    }

    private static func bytes(_ r: redisReply) -> UnsafeRawBufferPointer {
        guard let str = r.str, r.len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: str, count: Int(r.len))
    }

    /// A Swift copy of the reply tree, which outlives the callback.
    var owned: RedisReply {
        switch self {
        case .string(let bytes): return .string(Array(bytes))
        case .status(let bytes): return .status(String(decoding: bytes, as: UTF8.self))
        case .error(let bytes): return .error(String(decoding: bytes, as: UTF8.self))
        case .integer(let n): return .integer(n)
        case .null: return .null
        case .array(let elements): return .array((0..<elements.count).map { elements[$0]?.owned ?? .null })
        }
    }

    /// An error reply's text when it is short (redirects and codes are), else nil.
    var shortErrorText: String? {
        guard case .error(let bytes) = self, bytes.count < 512 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What an error reply says, by its code; nil for any other reply.
    var errorKind: ReplyErrorKind? {
        guard case .error(let bytes) = self else { return nil }
        return ReplyErrorKind(bytes)
    }
}

/// The elements of an array reply, borrowed like the reply.
struct ReplyElements {
    private let reply: UnsafePointer<redisReply>

    init(_ reply: UnsafePointer<redisReply>) { self.reply = reply }

    /// How many elements.
    var count: Int { Int(reply.pointee.elements) }

    /// Element `i` (nil when hiredis holds none there).
    subscript(_ i: Int) -> ReplyView? {
        guard i >= 0, i < count, let element = reply.pointee.element, let child = element[i] else { return nil }
        return ReplyView(UnsafePointer(child))
    }
}

/// The error replies the warm logic acts on, told by how they start (as Redis words them).
enum ReplyErrorKind: Sendable, Equatable {
    /// `BUSYKEY`: RESTORE found the key present.
    case busyKey
    /// `MOVED slot host:port`: the slot lives on another node.
    case moved
    /// `ASK slot host:port`: the slot is migrating; ask there once.
    case ask
    /// `TRYAGAIN`: a multi-key command during a slot migration.
    case tryAgain
    /// `NOPERM`: the ACL user may not run the command.
    case noPermission
    /// `READONLY`: a replica.
    case readOnly
    /// `LOADING`: the server is loading its data set (after a restart) and answers nothing else.
    case loading
    /// Any other error.
    case other

    /// The kind of the error reply `text`, compared byte by byte (no string is made).
    init(_ text: UnsafeRawBufferPointer) {
        func starts(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard text.count >= n else { return false }
            return word.withUTF8Buffer { w in (0..<n).allSatisfy { text[$0] == w[$0] } }
        }
        if starts("BUSYKEY") {
            self = .busyKey
        } else if starts("MOVED") {
            self = .moved
        } else if starts("ASK") {
            self = .ask
        } else if starts("TRYAGAIN") {
            self = .tryAgain
        } else if starts("NOPERM") {
            self = .noPermission
        } else if starts("READONLY") {
            self = .readOnly
        } else if starts("LOADING") {
            self = .loading
        } else {
            self = .other
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
