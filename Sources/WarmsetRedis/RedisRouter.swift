import Foundation
import WarmsetWarm

/// One key's command, routed by the key's slot.
struct KeyedCommand {
    /// The key (its slot picks the node).
    var key: String
    /// The command.
    var command: RedisCommand
}

/// Sends keyed commands to the nodes that serve them, for one worker thread: one connection per
/// node, one pipeline per node and batch, `MOVED` (record the new owner, refresh the map,
/// resend) and `ASK` (`ASKING`, resend once to the importing node). A node that cannot be
/// reached after a reconnect is marked down in the shared topology and its keys fail at once.
final class RedisRouter {
    let topology: ClusterTopology
    let settings: RedisConnectionSettings
    let ledger: WarmLedger
    private var connections: [RedisEndpoint: RedisConnection] = [:]

    init(topology: ClusterTopology, settings: RedisConnectionSettings, ledger: WarmLedger) {
        self.topology = topology
        self.settings = settings
        self.ledger = ledger
    }

    /// A connection to `node`, connecting (and logging in) if needed.
    func connection(_ node: RedisEndpoint) throws(RedisError) -> RedisConnection {
        if let existing = connections[node] { return existing }
        let connection = try RedisConnection(settings.at(node))
        connections[node] = connection
        return connection
    }

    /// Runs every command on the node serving its key and returns one result per command: the
    /// reply (error replies included, other than redirects), or the key's failure when its node
    /// is down or the connection broke before the reply.
    func execute(_ commands: [KeyedCommand], operation: String) -> [Result<RedisReply, KeyFailure>] {
        var results = [Result<RedisReply, KeyFailure>?](repeating: nil, count: commands.count)
        var pending: [(index: Int, node: RedisEndpoint, asking: Bool)] = commands.indices.map { i in
            (i, topology.node(forSlot: topology.isCluster ? ClusterSlot.of(commands[i].key) : 0), false)
        }
        var round = 0
        while !pending.isEmpty && round < 6 {
            round += 1
            var next: [(index: Int, node: RedisEndpoint, asking: Bool)] = []
            var refresh = false
            var groups: [RedisEndpoint: [(index: Int, node: RedisEndpoint, asking: Bool)]] = [:]
            var order: [RedisEndpoint] = []
            if let first = pending.first, pending.allSatisfy({ $0.node == first.node }) {
                // The usual case (a standalone server, or a lane of one master): no hashing.
                groups[first.node] = pending
                order = [first.node]
            } else {
                for item in pending {
                    if groups[item.node] == nil { order.append(item.node) }
                    groups[item.node, default: []].append(item)
                }
            }
            for node in order {
                let items = groups[node] ?? []
                if let reason = topology.downReason(node) {
                    for item in items { results[item.index] = .failure(KeyFailure("node_down", reason)) }
                    continue
                }
                var batch: [RedisCommand] = []
                var replyIndex: [Int] = []  // position of each item's own reply
                for item in items {
                    if item.asking { batch.append(.command("ASKING")) }
                    replyIndex.append(batch.count)
                    batch.append(commands[item.index].command)
                }
                let replies: [RedisReply]
                switch send(batch, to: node, operation: operation) {
                case .success(let r): replies = r
                case .failure(let partial):
                    // Items whose reply arrived keep it; the others fail with the reason.
                    for (k, item) in items.enumerated() {
                        if replyIndex[k] < partial.replies.count {
                            results[item.index] = .success(partial.replies[replyIndex[k]])
                        } else {
                            results[item.index] = .failure(partial.failure)
                        }
                    }
                    continue
                }
                for (k, item) in items.enumerated() {
                    let reply = replies[replyIndex[k]]
                    if case .error(let message) = reply, let redirect = Redirect(message, defaultHost: node) {
                        if redirect.ask {
                            ledger.count("ask")
                            if item.asking {
                                results[item.index] = .failure(KeyFailure("redirect_loop", "ASK to \(redirect.node) twice for slot \(redirect.slot)"))
                            } else {
                                next.append((item.index, redirect.node, true))
                            }
                        } else {
                            ledger.count("moved")
                            topology.moved(slot: redirect.slot, to: redirect.node)
                            refresh = true
                            next.append((item.index, redirect.node, false))
                        }
                    } else if case .error(let message) = reply, message.hasPrefix("TRYAGAIN") {
                        next.append(item)
                    } else {
                        results[item.index] = .success(reply)
                    }
                }
            }
            if refresh { refreshMap() }
            if round > 1 && !next.isEmpty { Thread.sleep(forTimeInterval: 0.01 * Double(round)) }
            pending = next
        }
        return results.enumerated().map { index, result in
            result ?? .failure(KeyFailure("redirect_loop", "still redirected after 6 tries for '\(commands[index].key)'"))
        }
    }

    private struct Partial: Error {
        var replies: [RedisReply]
        var failure: KeyFailure
    }

    /// One pipeline to `node`. A connection that broke before any reply is reconnected (AUTH
    /// and SELECT again) and the pipeline sent once more; a node that cannot be reconnected is
    /// marked down.
    private func send(_ batch: [RedisCommand], to node: RedisEndpoint, operation: String) -> Result<[RedisReply], Partial> {
        var attempt = 0
        while true {
            attempt += 1
            let connection: RedisConnection
            let replies: [RedisReply]
            let failure: RedisError?
            do {
                connection = try self.connection(node)
                (replies, failure) = connection.pipeline(batch, operation: operation)
            } catch {
                (replies, failure) = ([], error)
            }
            guard let failure else { return .success(replies) }
            if !replies.isEmpty {
                // Broke mid-pipeline: what was read stands; the rest is unknown, so it fails.
                return .failure(Partial(replies: replies, failure: KeyFailure("connection_lost", "\(node): \(failure.message) before the reply")))
            }
            switch failure.kind {
            case .auth, .permission, .reply, .url:
                // AUTH or SELECT refused on a (re)connect: every key of this node fails the same way.
                topology.markDown(node, failure.description)
                return .failure(Partial(replies: [], failure: KeyFailure(failure.kind == .auth ? "auth" : "redis_error", failure.description)))
            case .connect, .io:
                if attempt < 3 {
                    ledger.count("reconnects")
                    if failure.kind == .connect { Thread.sleep(forTimeInterval: 0.2 * Double(attempt)) }
                    continue
                }
                let reason = "\(node) is down: \(failure.message)"
                topology.markDown(node, reason)
                return .failure(Partial(replies: [], failure: KeyFailure("node_down", reason)))
            }
        }
    }

    /// Reads the slot map again through any node that answers.
    private func refreshMap() {
        for node in [topology.seed] + topology.masters where topology.downReason(node) == nil {
            guard let connection = try? connection(node) else { continue }
            if (try? topology.refresh(using: connection)) != nil { return }
        }
    }
}

/// A `MOVED slot host:port` or `ASK slot host:port` error reply.
struct Redirect {
    var ask: Bool
    var slot: Int
    var node: RedisEndpoint

    init?(_ message: String, defaultHost: RedisEndpoint) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty, case .tcp(let seedHost, _) = defaultHost { host = seedHost }
        self.ask = parts[0] == "ASK"
        self.slot = slot
        self.node = .tcp(host: host, port: port)
    }
}
