/// One memcached node, `host:port`.
public struct MemcachedServer: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IPv4 address (an IPv6 address in brackets is given without them).
    public var host: String
    /// The TCP port (11211 when not given).
    public var port: Int

    /// Creates a server address.
    public init(host: String, port: Int = 11211) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a pool: `host:port[,host:port…]`, optionally as `memcached://host:port,…` (the
    /// `--copy-from` form). The order matters to `--distribution modula` and is kept.
    /// - Throws: `MemcachedError` for an empty list, an empty host or a port outside 1…65535.
    public static func parseList(_ text: String, option: String = "--memcached") throws(MemcachedError) -> [MemcachedServer] {
        var rest = Substring(text)
        if rest.hasPrefix("memcached://") { rest = rest.dropFirst("memcached://".count) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        var servers: [MemcachedServer] = []
        for item in rest.split(separator: ",", omittingEmptySubsequences: false) {
            let part = item.trimmingCharacters(in: .whitespaces)
            var host = Substring(part)
            var port = 11211
            if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
                let after = host[host.index(after: close)...]
                host = host[host.index(after: host.startIndex)..<close]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                        throw MemcachedError("\(option) '\(text)'", "'\(part)' has no valid port; expected host:port[,host:port…], e.g. cache1:11211,cache2:11211")
                    }
                    port = p
                }
            } else if let colon = host.lastIndex(of: ":") {
                guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                    throw MemcachedError("\(option) '\(text)'", "'\(part)' has no valid port; expected host:port[,host:port…], e.g. cache1:11211,cache2:11211")
                }
                port = p
                host = host[..<colon]
            }
            guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == "@" || $0 == " " }) else {
                throw MemcachedError("\(option) '\(text)'", "'\(part)' is not host:port; expected host:port[,host:port…], e.g. cache1:11211,cache2:11211")
            }
            servers.append(MemcachedServer(host: String(host), port: port))
        }
        guard !servers.isEmpty else { throw MemcachedError("\(option) '\(text)'", "no servers; expected host:port[,host:port…]") }
        guard Set(servers).count == servers.count else { throw MemcachedError("\(option) '\(text)'", "a server is listed twice") }
        return servers
    }
}

/// How keys are spread over the nodes: as the application's memcached client does it.
public enum MemcachedDistribution: String, Sendable, CaseIterable {
    /// libketama-compatible consistent hashing: `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED` = 1, which
    /// sets the distribution to `MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA` and both the key hash
    /// and the continuum hash to MD5 (as php-memcached's `OPT_LIBKETAMA_COMPATIBLE`, pylibmc's
    /// `ketama` behaviour and other libmemcached-based clients).
    case ketama
    /// `hash(key) % number of servers`, libmemcached's default hash (one-at-a-time), in the
    /// order the servers were given (php-memcached's and pylibmc's defaults).
    case modula
}
