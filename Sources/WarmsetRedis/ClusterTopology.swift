import Synchronization

/// Which master serves each hash slot, and which nodes are down, shared by every worker thread
/// of a run. Standalone servers have a topology of one node that owns every slot.
public final class ClusterTopology: Sendable {
    struct State {
        var owners: [RedisEndpoint?]
        var down: [RedisEndpoint: String] = [:]
    }

    /// Whether this is a Redis Cluster.
    public let isCluster: Bool
    /// The node the run was given.
    public let seed: RedisEndpoint
    let state: Mutex<State>

    /// A standalone server: one node for every key.
    public init(standalone endpoint: RedisEndpoint) {
        isCluster = false
        seed = endpoint
        state = Mutex(State(owners: []))
    }

    /// A cluster reached at `seed`, with the slot map read from `connection`.
    /// - Throws: `RedisError` when neither CLUSTER SHARDS nor CLUSTER SLOTS gives a map.
    public init(cluster seed: RedisEndpoint, connection: RedisConnection) throws(RedisError) {
        isCluster = true
        self.seed = seed
        state = Mutex(State(owners: Array(repeating: nil, count: ClusterSlot.count)))
        try refresh(using: connection)
    }

    /// The node that serves `slot` (the seed for a standalone server, or for a slot no master
    /// covers).
    public func node(forSlot slot: Int) -> RedisEndpoint {
        guard isCluster else { return seed }
        return state.withLock { $0.owners[slot] } ?? seed
    }

    /// The masters, each once.
    public var masters: [RedisEndpoint] {
        guard isCluster else { return [seed] }
        let owners = state.withLock { Set($0.owners.compactMap { $0 }) }
        return owners.sorted { $0.description < $1.description }
    }

    /// Records that `slot` moved to `node` (a MOVED reply).
    func moved(slot: Int, to node: RedisEndpoint) {
        guard isCluster, slot >= 0, slot < ClusterSlot.count else { return }
        state.withLock { $0.owners[slot] = node }
    }

    /// Why `node` is down, or nil.
    func downReason(_ node: RedisEndpoint) -> String? { state.withLock { $0.down[node] } }

    /// Marks `node` down for the rest of the run: its keys fail at once.
    func markDown(_ node: RedisEndpoint, _ reason: String) {
        state.withLock { if $0.down[node] == nil { $0.down[node] = reason } }
    }

    /// Reads the slot map again: CLUSTER SHARDS (Redis 7), else CLUSTER SLOTS.
    /// - Throws: `RedisError` when neither works.
    public func refresh(using connection: RedisConnection) throws(RedisError) {
        let server = connection.settings.url.description
        let defaultHost: String
        if case .tcp(let host, _) = connection.settings.url.endpoint { defaultHost = host } else { defaultHost = "127.0.0.1" }
        let shards = try connection.pipelineOrThrow([.command("CLUSTER", Array("SHARDS".utf8))], operation: "CLUSTER SHARDS")[0]
        var ranges: [(ClosedRange<Int>, RedisEndpoint)] = []
        if case .array(let items) = shards {
            ranges = Self.parseShards(items, defaultHost: defaultHost)
        } else {
            let slots = try connection.pipelineOrThrow([.command("CLUSTER", Array("SLOTS".utf8))], operation: "CLUSTER SLOTS")[0]
            guard case .array(let items) = slots else {
                throw RedisError(.reply, server: server, operation: "reading the cluster's slot map", message: "CLUSTER SLOTS answered \(slots)")
            }
            ranges = Self.parseSlots(items, defaultHost: defaultHost)
        }
        guard !ranges.isEmpty else {
            throw RedisError(.reply, server: server, operation: "reading the cluster's slot map", message: "no slot is assigned to a master", hint: "is the cluster set up (redis-cli --cluster create)?")
        }
        state.withLock { s in
            for (range, node) in ranges {
                for slot in range where slot >= 0 && slot < ClusterSlot.count { s.owners[slot] = node }
            }
        }
    }

    /// CLUSTER SHARDS: per shard a flat map with `slots` (start, end pairs) and `nodes` (flat
    /// maps with `ip`, `endpoint`, `port`, `role`, `health`).
    static func parseShards(_ shards: [RedisReply], defaultHost: String) -> [(ClosedRange<Int>, RedisEndpoint)] {
        var out: [(ClosedRange<Int>, RedisEndpoint)] = []
        for shard in shards {
            let fields = flatMap(shard)
            guard case .array(let slotList)? = fields["slots"], case .array(let nodes)? = fields["nodes"] else { continue }
            var master: RedisEndpoint?
            for node in nodes {
                let n = flatMap(node)
                guard n["role"]?.text == "master", let port = n["port"]?.int ?? n["tls-port"]?.int else { continue }
                if let health = n["health"]?.text, health != "online" { continue }
                var host = n["ip"]?.text ?? n["endpoint"]?.text ?? defaultHost
                if host.isEmpty || host == "?" { host = defaultHost }
                master = .tcp(host: host, port: Int(port))
            }
            guard let master else { continue }
            var i = 0
            while i + 1 < slotList.count {
                if let start = slotList[i].int, let end = slotList[i + 1].int, start <= end {
                    out.append((Int(start)...Int(end), master))
                }
                i += 2
            }
        }
        return out
    }

    /// CLUSTER SLOTS: `[start, end, [ip, port, id…], replicas…]`.
    static func parseSlots(_ items: [RedisReply], defaultHost: String) -> [(ClosedRange<Int>, RedisEndpoint)] {
        var out: [(ClosedRange<Int>, RedisEndpoint)] = []
        for item in items {
            guard case .array(let parts) = item, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                case .array(let master) = parts[2], master.count >= 2, let port = master[1].int, start <= end
            else { continue }
            var host = master[0].text ?? defaultHost
            if host.isEmpty || host == "?" { host = defaultHost }
            out.append((Int(start)...Int(end), .tcp(host: host, port: Int(port))))
        }
        return out
    }

    private static func flatMap(_ reply: RedisReply) -> [String: RedisReply] {
        guard case .array(let items) = reply else { return [:] }
        var map: [String: RedisReply] = [:]
        var i = 0
        while i + 1 < items.count {
            if let key = items[i].text { map[key] = items[i + 1] }
            i += 2
        }
        return map
    }
}
