import CHiredis
import Foundation
import Synchronization

/// How to reach and log in to one Redis node.
public struct RedisConnectionSettings: Sendable {
    /// The node's URL (user, password and database apply to every node of a cluster).
    public var url: RedisURL
    /// Seconds to connect.
    public var connectTimeout: Double = 5
    /// Seconds to wait for a reply.
    public var readTimeout: Double = 30
    /// How a `rediss://` URL's TLS is verified (unused for `redis://`); every cluster node gets the same.
    public var tls = RedisTLSSettings()
    /// Seconds a run keeps reconnecting to a node that went away (or waits while it answers
    /// `LOADING`) before its keys fail (`--reconnect-for`). The first connect of a run never waits.
    public var reconnectFor: Double = 30
    /// The masters a `redis-sentinel://` URL led to, shared by every copy of these settings.
    public let masters = SentinelMasters()

    /// Settings for `url`.
    public init(url: RedisURL) {
        self.url = url
    }

    /// The same login at another node (a cluster node from the slot map).
    func at(_ endpoint: RedisEndpoint) -> RedisConnectionSettings {
        var copy = self
        copy.url.endpoint = endpoint
        return copy
    }
}

/// One blocking connection to one Redis node, owned by one thread. It owns the hiredis
/// `redisContext` (freed in `deinit`), logs in (AUTH, SELECT) on every connect, and connects
/// again on the next use after the connection broke.
public final class RedisConnection {
    /// Where and how to connect.
    public let settings: RedisConnectionSettings
    private var context: UnsafeMutablePointer<redisContext>?

    /// Connects and logs in.
    /// - Throws: `RedisError` (`.connect`, `.auth`, `.permission`, `.io`).
    public init(_ settings: RedisConnectionSettings) throws(RedisError) {
        self.settings = settings
        try connect()
    }

    deinit {
        if let context { redisFree(context) }
    }

    /// Whether the connection is up (false after an I/O error until the next use reconnects).
    public var isConnected: Bool { context != nil }

    /// Drops the connection; the next `pipeline` connects again.
    public func disconnect() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Connects (again) and logs in: AUTH (user and password) and SELECT.
    /// - Throws: `RedisError`.
    public func connect() throws(RedisError) {
        disconnect()
        let server = settings.url.description
        var node = settings
        if settings.url.sentinel != nil { node = try resolveMaster() }
        let connected = try Self.open(node, server: server)
        guard redisSetTimeout(connected, Self.timeval(settings.readTimeout)) == REDIS_OK else {
            let error = Self.contextError(connected, server: server, operation: "setting the read timeout")
            redisFree(connected)
            throw error
        }
        context = connected
        if let password = settings.url.password {
            var auth: RedisCommand = [Array("AUTH".utf8)]
            if let user = settings.url.user { auth.append(Array(user.utf8)) }
            auth.append(Array(password.utf8))
            let who = settings.url.user.map { "AUTH as '\($0)'" } ?? "AUTH"
            let reply = try pipelineOrThrow([auth], operation: who)[0]
            if case .error(let message) = reply {
                disconnect()
                throw RedisError(
                    .auth, server: server, operation: who, message: message,
                    hint: "check the user and password in the URL or REDISCLI_AUTH")
            }
        }
        if settings.url.database != 0 {
            let reply = try pipelineOrThrow([.command("SELECT", Array(String(settings.url.database).utf8))], operation: "SELECT")[0]
            if case .error(let message) = reply {
                disconnect()
                throw RedisError(
                    message.hasPrefix("NOPERM") ? .permission : .reply, server: server,
                    operation: "SELECT \(settings.url.database)", message: message,
                    hint: "a Redis Cluster has only database 0; otherwise check the server's 'databases' setting")
            }
        }
        if settings.url.sentinel != nil { try checkIsMaster(node.url.endpoint) }
    }

    /// Sends `commands` in one pipeline and reads every reply, connecting first if needed.
    /// Error replies are returned as `.error`; a broken connection ends the pipeline early.
    /// - Returns: the replies read, in order, and the error that ended the pipeline early (then
    ///   the replies cover only the first `replies.count` commands and the connection is down).
    public func pipeline(_ commands: [RedisCommand], operation: String = "pipeline") -> (replies: [RedisReply], error: RedisError?) {
        if context == nil {
            do { try connect() } catch { return ([], error) }
        }
        return send(Self.batch(commands), operation: operation)
    }

    /// `pipeline`, for commands whose every reply is needed.
    func pipelineOrThrow(_ commands: [RedisCommand], operation: String) throws(RedisError) -> [RedisReply] {
        let (replies, error) = send(Self.batch(commands), operation: operation)
        if let error { throw error }
        return replies
    }

    var currentContext: UnsafeMutablePointer<redisContext>? { context }
}

/// The master a `redis-sentinel://` URL led to, as the connections of one run saw it, so that
/// the run can tell whether a failover happened while it wrote.
public final class SentinelMasters: Sendable {
    private struct State {
        var current: RedisEndpoint?
        var changes = 0
    }

    // A struct, not a tuple: a `withLock` closure over a tuple has no `inout sending` in its
    // mangled type, so the Mutex false positive (docs/tsan.md) was reported for it under contention.
    private let state = Mutex(State())

    public init() {}

    /// Records the master a connection was made to.
    func connected(to master: RedisEndpoint) {
        state.withLock { state in
            if let current = state.current, current != master { state.changes += 1 }
            state.current = master
        }
    }

    /// The master connected to last.
    public var current: RedisEndpoint? { state.withLock { $0.current } }
    /// How many times the master changed (failovers seen) since the run started.
    public var changes: Int { state.withLock { $0.changes } }
}

