import Foundation

// Finding the master of a `redis-sentinel://` URL, as Redis' client guidelines for Sentinel ask:
// ask each sentinel in turn for the master's address, connect there, and check with ROLE that it
// is a master (a sentinel may answer with the old address for a moment during a failover).
extension RedisConnection {
    /// The settings of the master the sentinels name now (a plain `redis://` node with the URL's
    /// user, password and database).
    /// - Throws: `RedisError` `.connect` when no sentinel answers or names a master, or the
    ///   named node is not (yet) a master; the caller's reconnect loop asks again.
    func resolveMaster() throws(RedisError) -> RedisConnectionSettings {
        guard let sentinel = settings.url.sentinel else { return settings }
        let server = settings.url.description
        var reasons: [String] = []
        for node in sentinel.nodes {
            var ask = RedisConnectionSettings(url: RedisURL(endpoint: node))
            ask.connectTimeout = settings.connectTimeout
            ask.readTimeout = settings.connectTimeout
            let replies: [RedisReply]
            do {
                let connection = try RedisConnection(ask)
                replies = try connection.pipelineOrThrow(
                    [.command("SENTINEL", Array("get-master-addr-by-name".utf8), Array(sentinel.master.utf8))],
                    operation: "SENTINEL get-master-addr-by-name")
            } catch {
                reasons.append("\(node): \(error.message)")
                continue
            }
            guard case .array(let parts) = replies[0], parts.count == 2, let host = parts[0].text, let portText = parts[1].text,
                let port = Int(portText)
            else {
                if case .error(let message) = replies[0] { reasons.append("\(node): \(message)") } else { reasons.append("\(node): does not know a master named '\(sentinel.master)'") }
                continue
            }
            var master = settings
            master.url.sentinel = nil
            master.url.endpoint = .tcp(host: host, port: port)
            return master
        }
        throw RedisError(
            .connect, server: server, operation: "asking the sentinels for master '\(sentinel.master)'",
            message: reasons.joined(separator: "; "),
            hint: "check the sentinel addresses and the master's name (sentinel monitor NAME … in sentinel.conf)")
    }

    /// After logging in through a sentinel's answer: ROLE must say master (a sentinel may name
    /// the old master for a moment during a failover); then the master is recorded.
    /// - Throws: `RedisError` `.connect` for a replica (the reconnect loop asks the sentinels again).
    func checkIsMaster(_ master: RedisEndpoint) throws(RedisError) {
        let role = try pipelineOrThrow([.command("ROLE")], operation: "ROLE")[0]
        if case .array(let parts) = role, let first = parts.first?.text, first != "master" {
            disconnect()
            throw RedisError(
                .connect, server: settings.url.description, operation: "connecting to the master at \(master)",
                message: "the sentinels named \(master), which is a \(first) now (a failover in progress)")
        }
        settings.masters.connected(to: master)
    }
}
