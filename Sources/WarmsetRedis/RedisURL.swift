import Foundation
import WarmsetWarm

/// Where a Redis server listens.
public enum RedisEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// TCP host and port.
    case tcp(host: String, port: Int)
    /// A unix domain socket.
    case unix(path: String)

    /// `host:port` or the socket path.
    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// A parsed `redis://[user[:password]@]host[:port][/db]`, `rediss://…` (the same over TLS) or
/// `unix:///path/to/redis.sock[?db=N]` URL. The password may instead come from the `REDISCLI_AUTH` environment variable, as with
/// redis-cli. `description` never shows the password.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// Where the server listens.
    public var endpoint: RedisEndpoint
    /// The ACL user (nil: the default user).
    public var user: String?
    /// The password (nil: no AUTH).
    public var password: String?
    /// The logical database to SELECT (0 by default; Redis Cluster has only 0).
    public var database: Int
    /// Whether the connection is TLS (`rediss://`); TCP endpoints only.
    public var tls: Bool
    /// `redis-sentinel://…#MASTER`: the master is found by asking these sentinels (then
    /// `endpoint` is the first sentinel, which only names the connection; see `RedisConnection`).
    public var sentinel: Sentinel?

    /// The sentinels of a `redis-sentinel://` URL and the name of the master they watch.
    public struct Sentinel: Sendable, Equatable {
        /// The master's name, as in `sentinel monitor NAME …`.
        public var master: String
        /// The sentinels to ask, in order.
        public var nodes: [RedisEndpoint]
    }

    /// Creates a URL from parts.
    public init(endpoint: RedisEndpoint, user: String? = nil, password: String? = nil, database: Int = 0, tls: Bool = false) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let auth: String
        switch (user, password) {
        case (let user?, _?): auth = "\(user):***@"
        case (nil, _?): auth = ":***@"
        case (let user?, nil): auth = "\(user)@"
        case (nil, nil): auth = ""
        }
        switch endpoint {
        case .tcp:
            if let sentinel {
                return "redis-sentinel://\(auth)" + sentinel.nodes.map(\.description).joined(separator: ",") + "/\(database)#\(sentinel.master)"
            }
            return (tls ? "rediss://" : "redis://") + "\(auth)\(endpoint)/\(database)"
        case .unix(let path): return "unix://\(auth)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// Parses `text`; a URL without a password takes `environment["REDISCLI_AUTH"]`.
    /// - Throws: `RedisError` of kind `.url`, with the URL redacted.
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(RedisError) -> RedisURL {
        let shown = Redaction.url(text)
        func bad(_ message: String, hint: String? = nil) -> RedisError {
            RedisError(.url, server: shown, operation: "reading the URL", message: message, hint: hint)
        }
        var url: RedisURL
        if text.hasPrefix("redis-sentinel://") {
            url = try sentinel(text, bad: bad)
        } else if text.hasPrefix("unix://") {
            var rest = text.dropFirst("unix://".count)
            var user: String?
            var password: String?
            if let at = rest.firstIndex(of: "@"), !rest[..<at].contains("/") {
                (user, password) = try userinfo(rest[..<at], bad: bad)
                rest = rest[rest.index(after: at)...]
            }
            var database = 0
            if let question = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: question)...]
                rest = rest[..<question]
                for item in query.split(separator: "&") {
                    let pair = item.split(separator: "=", maxSplits: 1)
                    guard pair.count == 2, pair[0] == "db", let n = Int(pair[1]), n >= 0 else {
                        throw bad("unknown query '\(item)'; only ?db=N is understood")
                    }
                    database = n
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else {
                throw bad("expected unix:///path/to/redis.sock")
            }
            url = RedisURL(endpoint: .unix(path: String(rest)), user: user, password: password, database: database)
        } else if let scheme = ["redis://", "rediss://"].first(where: text.hasPrefix) {
            let (user, password, hostPort, database) = try userHostsDatabase(
                text.dropFirst(scheme.count), example: "redis://host:6379/0", bad: bad)
            let (host, port) = try hostAndPort(hostPort, defaultPort: 6379, bad: bad)
            url = RedisURL(
                endpoint: .tcp(host: host, port: port), user: user, password: password, database: database, tls: scheme == "rediss://")
        } else {
            throw bad(
                "expected redis://[user[:password]@]host[:port][/db], rediss://… (TLS), redis-sentinel://[user[:password]@]host[:port][,host[:port]…][/db]#MASTER or unix:///path/to/redis.sock[?db=N]")
        }
        if url.password == nil, let fromEnvironment = environment["REDISCLI_AUTH"], !fromEnvironment.isEmpty {
            url.password = fromEnvironment
        }
        return url
    }

    /// `redis-sentinel://[user[:password]@]host[:port][,host[:port]…][/db]#MASTER` (the URI form of
    /// Lettuce and others): sentinels on port 26379 unless given; the user and password log in to
    /// the master (the sentinels are asked without them).
    private static func sentinel(_ text: String, bad: (String, String?) -> RedisError) throws(RedisError) -> RedisURL {
        var rest = Substring(text.dropFirst("redis-sentinel://".count))
        guard let hash = rest.lastIndex(of: "#"), !rest[rest.index(after: hash)...].isEmpty else {
            throw bad("a redis-sentinel:// URL names its master after '#'", "e.g. redis-sentinel://s1:26379,s2:26379/0#mymaster")
        }
        let master = String(rest[rest.index(after: hash)...])
        rest = rest[..<hash]
        let (user, password, hosts, database) = try userHostsDatabase(rest, example: "redis-sentinel://s1:26379/0#mymaster", bad: bad)
        var nodes: [RedisEndpoint] = []
        for item in hosts.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw bad("an empty sentinel address in the list", "separate host:port pairs with single commas") }
            let (host, port) = try hostAndPort(item, defaultPort: 26379, bad: bad)
            nodes.append(.tcp(host: host, port: port))
        }
        var url = RedisURL(endpoint: nodes[0], user: user, password: password, database: database)
        url.sentinel = Sentinel(master: master, nodes: nodes)
        return url
    }

    /// `[user[:password]@]HOSTS[/db]`: the userinfo, the host part (not yet split) and the database.
    private static func userHostsDatabase(
        _ text: Substring, example: String, bad: (String, String?) -> RedisError
    ) throws(RedisError) -> (String?, String?, Substring, Int) {
        var rest = text
        var user: String?
        var password: String?
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            (user, password) = try userinfo(rest[..<at], bad: bad)
            rest = rest[rest.index(after: at)...]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var database = 0
        if slash < rest.endIndex, !rest[rest.index(after: slash)...].isEmpty {
            let db = rest[rest.index(after: slash)...]
            guard let n = Int(db), n >= 0 else { throw bad("the database '\(db)' is not a number, e.g. \(example)", nil) }
            database = n
        }
        return (user, password, rest[..<slash], database)
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`; an empty host is 127.0.0.1.
    private static func hostAndPort(
        _ text: Substring, defaultPort: Int, bad: (String, String?) -> RedisError
    ) throws(RedisError) -> (String, Int) {
        var host: Substring
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("an IPv6 host needs a closing ']'", nil) }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                guard let n = Int(after.dropFirst()), (1...65535).contains(n) else { throw bad("the port '\(after.dropFirst())' is not 1–65535", nil) }
                port = n
            } else if !after.isEmpty {
                throw bad("unexpected '\(after)' after the host", nil)
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let n = Int(text[text.index(after: colon)...]), (1...65535).contains(n) else {
                throw bad("the port '\(text[text.index(after: colon)...])' is not 1–65535", nil)
            }
            port = n
        } else {
            host = text
        }
        return (host.isEmpty ? "127.0.0.1" : String(host), port)
    }

    private static func userinfo(_ text: Substring, bad: (String, String?) -> RedisError) throws(RedisError) -> (String?, String?) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ part: Substring) throws(RedisError) -> String? {
            guard !part.isEmpty else { return nil }
            guard let value = String(part).removingPercentEncoding else { throw bad("the user or password has a bad %-escape", nil) }
            return value
        }
        let user = try decode(parts[0])
        let password = parts.count > 1 ? try decode(parts[1]) : nil
        return (user, password)
    }
}
