import CHiredis
import Foundation

// The pointer code of RedisConnection: hiredis calls, the RESP buffer, copying replies out.
extension RedisConnection {
    static func timeval(_ seconds: Double) -> Foundation.timeval {
        let whole = Int(seconds)
        return Foundation.timeval(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }

    /// Opens a context; a context that reports an error is freed and becomes the error.
    static func open(_ endpoint: RedisEndpoint, timeout: Double, server: String) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let context: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .tcp(let host, let port):
            context = redisConnectWithTimeout(host, Int32(port), timeval(timeout))
        case .unix(let path):
            context = redisConnectUnixWithTimeout(path, timeval(timeout))
        }
        guard let context else {
            throw RedisError(.connect, server: server, operation: "connecting", message: "hiredis could not allocate a context")
        }
        if context.pointee.err != 0 {
            let error = contextError(context, server: server, operation: "connecting")
            redisFree(context)
            var connect = error
            connect.kind = .connect
            connect.hint = "is redis-server running there, and reachable?"
            throw connect
        }
        return context
    }

    /// The context's `err` and `errstr` as an error.
    static func contextError(_ context: UnsafeMutablePointer<redisContext>, server: String, operation: String) -> RedisError {
        let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return RedisError(.io, server: server, operation: operation, message: message.isEmpty ? "connection error" : message, code: context.pointee.err)
    }

    /// Appends every command, then reads one reply per command. On an I/O error the context is
    /// freed (the next use reconnects) and the replies read so far come back with the error.
    func send(_ commands: [RedisCommand], operation: String) -> (replies: [RedisReply], error: RedisError?) {
        let server = settings.url.description
        guard let context = currentContext else {
            return ([], RedisError(.io, server: server, operation: operation, message: "not connected"))
        }
        // The whole pipeline, serialized to RESP here (lengths explicit, so a key or value is
        // never parsed as anything), goes to hiredis in one call.
        let wire = Self.resp(commands)
        let status = wire.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                redisAppendFormattedCommand(context, chars.baseAddress, chars.count)
            }
        }
        if status != REDIS_OK {
            let error = Self.contextError(context, server: server, operation: operation)
            disconnect()
            return ([], error)
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            let status = redisGetReply(context, &raw)
            guard status == REDIS_OK, let raw else {
                let error = Self.contextError(context, server: server, operation: operation)
                disconnect()
                return (replies, error)
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        return (replies, nil)
    }

    /// `commands` in RESP: `*argc\r\n` then `$len\r\nbytes\r\n` per argument, the same bytes
    /// `redisAppendCommandArgv` would produce.
    /// - Complexity: O(total bytes).
    static func resp(_ commands: [RedisCommand]) -> [UInt8] {
        var size = 0
        for command in commands {
            size += 16
            for argument in command { size += argument.count + 16 }
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for command in commands {
            out.append(UInt8(ascii: "*"))
            appendDecimal(command.count, to: &out)
            out.append(contentsOf: [0x0D, 0x0A])
            for argument in command {
                out.append(UInt8(ascii: "$"))
                appendDecimal(argument.count, to: &out)
                out.append(contentsOf: [0x0D, 0x0A])
                out.append(contentsOf: argument)
                out.append(contentsOf: [0x0D, 0x0A])
            }
        }
        return out
    }

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            // Safe: an Int has at most 19 decimal digits, and the buffer holds 20.
            while n > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[i]) }
        }
    }

    /// A Swift copy of a hiredis reply tree.
    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .string(bytes(r.str, Int(r.len)))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(r.str, Int(r.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, Int(r.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(r.elements))
            if let element = r.element {
                for i in 0..<Int(r.elements) {
                    if let child = element[i] { items.append(copy(child)) } else { items.append(.null) }
                }
            }
            return .array(items)
        default:
            // RESP3 types of hiredis 1.x never arrive: warmset speaks RESP2 (no HELLO 3).
            return .string(bytes(r.str, Int(r.len)))
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
