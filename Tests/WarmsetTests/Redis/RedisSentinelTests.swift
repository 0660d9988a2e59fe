import Foundation
import Testing
import WarmsetRedis

/// One redis-sentinel (Debian's) watching a master with one replica, all on free loopback ports.
final class WarmSentinelSetup: @unchecked Sendable {
    let master: WarmRedisServer
    let replica: WarmRedisServer
    let sentinelPort: Int
    let directory: URL
    private let sentinel = ServerProcess()
    static let name = "warmmaster"

    init() throws {
        master = try WarmRedisServer()
        replica = try WarmRedisServer()
        // Redis 7 waits 5 s before a diskless full sync; a failover before it would promote an empty replica.
        try master.command(["CONFIG", "SET", "repl-diskless-sync-delay", "0"])
        try replica.command(["REPLICAOF", "127.0.0.1", String(master.port)])
        let replica = self.replica
        let synced = RedisFaultTests.eventually(timeout: 20) {
            (try? replica.command(["INFO", "replication"]).first?.textValue?.contains("master_link_status:up")) == true
        }
        if !synced {
            Issue.record("the replica did not sync with the master within 20 s")
            throw CancellationError()
        }
        sentinelPort = try WarmTestKit.freePort()
        directory = try WarmTestKit.temporaryDirectory()
        let config = directory.appendingPathComponent("sentinel.conf")
        try """
            port \(sentinelPort)
            bind 127.0.0.1
            daemonize no
            dir \(directory.path)
            logfile \(directory.appendingPathComponent("sentinel.log").path)
            sentinel monitor \(Self.name) 127.0.0.1 \(master.port) 1
            sentinel down-after-milliseconds \(Self.name) 1000
            sentinel failover-timeout \(Self.name) 20000

            """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-sentinel")
        process.arguments = [config.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try sentinel.run(process)
        // Ready when the sentinel answers and knows the replica (from the master's INFO).
        let ready = RedisFaultTests.eventually(timeout: 20) {
            guard let replicas = try? self.ask(["SENTINEL", "REPLICAS", Self.name]), case .array(let list)? = replicas.first,
                let first = list.first, case .array(let fields) = first
            else { return false }
            let text = fields.compactMap(\.textValue)
            guard let flags = text.firstIndex(of: "flags").map({ text[$0 + 1] }) else { return false }
            return flags == "slave" && text.contains(String(replica.port))
        }
        if !ready {
            let log = (try? String(contentsOf: directory.appendingPathComponent("sentinel.log"), encoding: .utf8)) ?? ""
            Issue.record("redis-sentinel did not see the replica within 20 s; its log ends: \(log.suffix(800))")
            throw CancellationError()
        }
    }

    /// `redis-sentinel://[auth@]127.0.0.1:PORT/db#warmmaster`.
    func url(auth: String = "", db: Int = 0) -> String { "redis-sentinel://\(auth)127.0.0.1:\(sentinelPort)/\(db)#\(Self.name)" }

    /// A command to the sentinel.
    func ask(_ command: [String]) throws -> [RedisReply] {
        let connection = try RedisConnection(RedisConnectionSettings(url: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: sentinelPort))))
        let (replies, error) = connection.pipeline([command.map { Array($0.utf8) }])
        if let error { throw error }
        return replies
    }

    /// The master's port as the sentinel names it now.
    func masterPort() -> Int? {
        guard let reply = try? ask(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self.name]), case .array(let parts)? = reply.first,
            parts.count == 2, let port = parts[1].textValue
        else { return nil }
        return Int(port)
    }

    /// `SENTINEL FAILOVER`, retried while the sentinel has no good replica yet (its INFO of the
    /// replica is refreshed every 10 s); true once it started.
    func failover() -> Bool {
        RedisFaultTests.eventually(timeout: 25) {
            (try? self.ask(["SENTINEL", "FAILOVER", Self.name]))?.first == .status("OK")
        }
    }

    deinit {
        sentinel.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("Redis Sentinel", .serialized)
struct RedisSentinelTests {
    func manifest(_ keys: [String], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("warm.keys").path
        try (keys.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func warmsTheMasterTheSentinelsName() throws {
        let setup = try WarmSentinelSetup()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<50).map { "s:\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", setup.url(auth: "warmer:warmer-pw@", db: 1), "--origin", origin.base + "/fast/{key}",
            "--ttl", "600",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try setup.master.command(["DBSIZE"], db: 1) == [.integer(50)])
        #expect(result.stderr.contains("redis-sentinel://warmer:***@127.0.0.1:\(setup.sentinelPort)/1#warmmaster"), "\(result.stderr)")
        #expect(!result.stderr.contains("warmer-pw"))
    }

    @Test func anUnknownMasterNameIsOneSentence() throws {
        let setup = try WarmSentinelSetup()
        let result = try WarmTestKit.warmset([
            "warm", "-", "--redis", "redis-sentinel://127.0.0.1:\(setup.sentinelPort)#nosuchmaster", "--origin", "http://127.0.0.1:1/{key}",
            "--ttl", "60",
        ], stdin: "a\n")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("asking the sentinels for master 'nosuchmaster'") && result.stderr.contains("sentinel monitor"), "\(result.stderr)")
    }

    /// The issue's test: the master fails over in the middle of a warm. The run reconnects to
    /// the master the sentinel names next, checks every key there once more (writes the old
    /// master took after its replica stopped copying are lost in any failover), and ends with
    /// every key in the new master or in the report.
    @Test func aFailoverMidWarmLosesNoKey() throws {
        let setup = try WarmSentinelSetup()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<1_000).map { "fo:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let failedOver = Mutexed(false)
        let trigger = Thread {
            _ = RedisFaultTests.eventually { ((try? setup.master.command(["DBSIZE"]).first?.intValue) ?? 0) >= 100 }
            failedOver.set(setup.failover())
        }
        trigger.start()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", setup.url(), "--origin", origin.base + "/fast/{key}", "--ttl", "600",
            "--rate", "200/s", "--batch", "10", "--connections", "2", "--report", report.path,
        ])
        #expect(RedisFaultTests.eventually { failedOver.isSet })
        try #require(failedOver.value, "SENTINEL FAILOVER never started")
        #expect(RedisFaultTests.eventually { setup.masterPort() == setup.replica.port }, "the replica was promoted")
        let json = try warmReport(report)
        #expect(json["unaccounted"] as? Int == 0, "\(json)")
        let counters = json["counters"] as? [String: Int] ?? [:]
        #expect(counters["failover_rechecked"] ?? 0 > 0, "the run saw the failover while it wrote: \(json)")
        let failures = try #require(json["failures"] as? [[String: Any]])
        let reported = Set(failures.compactMap { $0["key"] as? String })
        let notReported = keys.filter { !reported.contains($0) }
        let present = try setup.replica.commands(notReported.map { ["EXISTS", $0] })
        let missing = zip(notReported, present).filter { $0.1 != .integer(1) }.map(\.0)
        #expect(missing.isEmpty, "\(missing.count) keys neither in the new master nor in the report, e.g. \(missing.prefix(5))")
        #expect(result.status == (reported.isEmpty ? 0 : 2), "\(result.stderr)")
        #expect(reported.isEmpty, "a failover with the new master up fails no key: \(json["failed_by_reason"] ?? [:])")
    }

    /// The master dies mid-warm (SIGKILL, no failover asked for): the run keeps reconnecting,
    /// asking the sentinels each time, until they have promoted the replica (about 1 s to see
    /// the master down, then the failover), and goes on there; every key ends in the new master.
    @Test func aMasterKilledMidWarmIsFollowedToTheReplicaTheSentinelsPromote() throws {
        let setup = try WarmSentinelSetup()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<800).map { "dead:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let killed = Mutexed(false)
        let killer = Thread {
            _ = RedisFaultTests.eventually { ((try? setup.master.command(["DBSIZE"]).first?.intValue) ?? 0) >= 100 }
            setup.master.kill()
            killed.set(true)
        }
        killer.start()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", setup.url(), "--origin", origin.base + "/fast/{key}", "--ttl", "600",
            "--rate", "200/s", "--batch", "10", "--connections", "2", "--report", report.path,
        ])
        #expect(RedisFaultTests.eventually { killed.isSet })
        #expect(result.status == 0, "\(result.stderr)")
        #expect(setup.masterPort() == setup.replica.port, "the sentinel promoted the replica")
        let json = try warmReport(report)
        let counters = json["counters"] as? [String: Int] ?? [:]
        #expect(counters["reconnects"] ?? 0 > 0 && counters["failover_rechecked"] ?? 0 > 0, "\(json)")
        #expect(json["failed"] as? Int == 0 && json["unaccounted"] as? Int == 0, "\(json)")
        let present = try setup.replica.commands(keys.map { ["EXISTS", $0] })
        let missing = zip(keys, present).filter { $0.1 != .integer(1) }.map(\.0)
        #expect(missing.isEmpty, "\(missing.count) keys not in the new master, e.g. \(missing.prefix(5))")
    }
}
