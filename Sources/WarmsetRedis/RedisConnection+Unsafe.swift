import CHiredis
import Foundation

// The pointer code of RedisConnection: hiredis calls, the RESP buffer, copying replies out.
extension RedisConnection {
    static func timeval(_ seconds: Double) -> Foundation.timeval {
        let whole = Int(seconds)
        return Foundation.timeval(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }

    /// Opens a context; a context that reports an error is freed and becomes the error. A
    /// `rediss://` URL connects through the TLS relay (`RedisTLSRelay`), whose plain end hiredis
    /// then owns (`redisFree` closes it, which ends the TLS connection).
    static func open(_ settings: RedisConnectionSettings, server: String) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let timeout = settings.connectTimeout
        let context: UnsafeMutablePointer<redisContext>?
        switch settings.url.endpoint {
        case .tcp(let host, let port) where settings.url.tls:
            let relayed = try RedisTLSRelay.connect(host: host, port: port, settings: settings.tls, timeout: timeout, server: server)
            context = redisConnectFd(relayed)
            if context == nil { Foundation.close(relayed) }
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

    /// Sends every command of `batch` in one write, then reads one reply per command. On an I/O
    /// error the context is freed (the next use reconnects) and the replies read so far come back
    /// with the error.
    func send(_ batch: CommandBatch, operation: String) -> (replies: [RedisReply], error: RedisError?) {
        var replies: [RedisReply] = []
        replies.reserveCapacity(batch.count)
        let error = send(batch, operation: operation) { replies.append($0.owned) }
        return (replies, error)
    }

    /// Sends every command of `batch` in one write, then hands each reply, in order, to
    /// `reply` (the view is valid only during the call). On an I/O error the context is freed
    /// (the next use reconnects) and the error returned; the replies handed over so far stand.
    func send(_ batch: CommandBatch, operation: String, reply: (ReplyView) -> Void) -> RedisError? {
        let server = settings.url.description
        guard let context = currentContext else {
            return RedisError(.io, server: server, operation: operation, message: "not connected")
        }
        // The whole pipeline, already RESP, goes to hiredis in one call.
        let status = batch.withWire { wire in
            redisAppendFormattedCommand(context, wire.baseAddress?.assumingMemoryBound(to: CChar.self), wire.count)
        }
        if status != REDIS_OK {
            let error = Self.contextError(context, server: server, operation: operation)
            disconnect()
            return error
        }
        for _ in 0..<batch.count {
            var raw: UnsafeMutableRawPointer?
            let status = redisGetReply(context, &raw)
            guard status == REDIS_OK, let raw else {
                let error = Self.contextError(context, server: server, operation: operation)
                disconnect()
                return error
            }
            reply(ReplyView(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self))))
            freeReplyObject(raw)
        }
        return nil
    }

    /// `commands` in RESP: `*argc\r\n` then `$len\r\nbytes\r\n` per argument, the same bytes
    /// `redisAppendCommandArgv` would produce.
    /// - Complexity: O(total bytes).
    static func resp(_ commands: [RedisCommand]) -> [UInt8] { batch(commands).wire }

    /// `commands` as a batch, each its own owner.
    static func batch(_ commands: [RedisCommand]) -> CommandBatch {
        var batch = CommandBatch()
        for (i, command) in commands.enumerated() {
            batch.begin(command.count)
            for argument in command { batch.argument(argument) }
            batch.end(owner: i)
        }
        return batch
    }
}
