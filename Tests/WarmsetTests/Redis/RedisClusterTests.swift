import Foundation
import Testing
import WarmsetRedis

/// `warmset warm --redis` against a real 3-master Redis Cluster.
@Suite("Warm a Redis Cluster", .serialized)
struct RedisClusterTests {
    func manifest(_ lines: [String], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("warm.keys").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func everyKeyLandsOnTheMasterOfItsSlot() throws {
        let cluster = try WarmRedisCluster()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<300).map { "c:\($0)" } + ["{user7}.a", "{user7}.b"]
        try cluster.nodes[1].command(["SET", "c:5", "kept"])  // may answer MOVED: then nothing is set
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", cluster.nodes[0].urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "300", "--batch", "25", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect((json["warmed"] as? Int ?? 0) + (json["present"] as? Int ?? 0) == keys.count)
        let byNode = try cluster.keysByNode()
        #expect(byNode.values.map(\.count).reduce(0, +) == keys.count, "each key once, on one node")
        #expect(byNode.values.allSatisfy { !$0.isEmpty }, "all three masters got keys")
        for key in keys.prefix(40) + keys.suffix(2) {
            // warmset's slot agrees with the server's, and the key is on the slot's owner.
            let slot = try #require(try cluster.nodes[0].command(["CLUSTER", "KEYSLOT", key]).first?.intValue)
            #expect(ClusterSlot.of(key) == Int(slot))
            let owner = try cluster.owner(ofSlot: Int(slot))
            #expect(byNode[owner.port]?.contains(key) == true, "\(key) is on its slot's master")
        }
    }

    @Test func aSlotMigratedDuringTheRunForcesAskAndMovedAndLosesNoKey() throws {
        let cluster = try WarmRedisCluster()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let slot = ClusterSlot.of("{mig}")
        let source = try cluster.owner(ofSlot: slot)
        let target = try #require(cluster.nodes.first { $0.port != source.port })
        let sourceID = try cluster.id(source)
        let targetID = try cluster.id(target)
        // Half-way through a migration: keys of the slot that are not on the source are asked
        // for on the target (ASK).
        try target.command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID])
        try source.command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID])

        var keys: [String] = []
        for i in 0..<150 {
            keys.append("{mig}:\(i)")
            keys.append("plain:\(i)")
        }
        let report = dir.appendingPathComponent("report.json")
        // The migration ends while the run goes on: the slot then belongs to the target (MOVED).
        let finisher = Thread {
            // Once some keys went to the target through ASK (or after 20 s), end the migration.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline,
                ((try? target.command(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]).first?.intValue) ?? 0) < 20
            {
                Thread.sleep(forTimeInterval: 0.05)
            }
            for node in [target, source] + cluster.nodes.filter({ $0.port != source.port && $0.port != target.port }) {
                _ = try? node.command(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID])
            }
        }
        finisher.start()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", cluster.nodes[0].urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "300", "--batch", "5", "--connections", "1", "--rate", "100/s", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == keys.count, "no key lost")
        #expect(json["failed"] as? Int == 0)
        let counters = try #require(json["counters"] as? [String: Int])
        #expect((counters["ask"] ?? 0) > 0, "\(counters)")
        #expect((counters["moved"] ?? 0) > 0, "\(counters)")
        let byNode = try cluster.keysByNode()
        #expect(byNode.values.map(\.count).reduce(0, +) == keys.count)
        let migrated = keys.filter { $0.hasPrefix("{mig}") }
        #expect(Set(migrated).isSubset(of: byNode[target.port] ?? []), "the slot's keys are on its new owner")
        // {key} is percent-encoded into the URL, so the origin saw %7Bmig%7D.
        #expect(try target.command(["GET", "{mig}:149"]).first?.textValue == "value-of:%7Bmig%7D:149")
    }

    @Test func aMasterThatIsDownFailsOnlyItsKeys() throws {
        let cluster = try WarmRedisCluster()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<300).map { "d:\($0)" }
        let down = cluster.nodes[2]
        var downKeys = Set<String>()
        for key in keys where try cluster.owner(ofSlot: ClusterSlot.of(key)).port == down.port { downKeys.insert(key) }
        down.kill()
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", cluster.nodes[0].urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "300", "--report", report.path, "--reconnect-for", "0.5s",
        ])
        #expect(result.status == 2, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == keys.count - downKeys.count)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["node_down": downKeys.count])
        let failures = try #require(json["failures"] as? [[String: Any]])
        #expect(Set(failures.compactMap { $0["key"] as? String }) == downKeys)
        #expect(result.stderr.contains("127.0.0.1:\(down.port) is down"))
    }

    /// copy-from a standalone Redis into the Cluster (MGET there, SET per key here, each on the
    /// master of its slot), and back out of the Cluster (DUMP per key on each master, since an
    /// MGET must stay in one slot) into a standalone Redis: values and TTLs arrive whole.
    @Test func copyFromIntoAndOutOfTheCluster() throws {
        let cluster = try WarmRedisCluster()
        let standalone = try WarmRedisServer()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<200).map { "cp:\($0)" }
        _ = try standalone.commands(keys.enumerated().map { n, key in
            n % 2 == 0 ? ["SET", key, "v:\(n)"] : ["SET", key, "v:\(n)", "EX", "900"]
        })
        try standalone.command(["HSET", "cp:hash", "f", "x"])
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys + ["cp:hash"], in: dir), "--redis", cluster.nodes[0].urlString(),
            "--copy-from", standalone.urlString(), "--batch", "64",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let byNode = try cluster.keysByNode()
        #expect(byNode.values.map(\.count).reduce(0, +) == keys.count + 1, "each key once, on one node")
        for (n, key) in keys.enumerated().prefix(30) {
            let owner = try cluster.owner(ofSlot: ClusterSlot.of(key))
            let replies = try owner.command(["GET", key], ["TTL", key])
            #expect(replies[0].textValue == "v:\(n)")
            if n % 2 == 0 {
                #expect(replies[1] == .integer(-1))
            } else {
                #expect((replies[1].intValue ?? 0) <= 900 && (replies[1].intValue ?? 0) >= 895, "\(key) keeps its TTL")
            }
        }
        let hashOwner = try cluster.owner(ofSlot: ClusterSlot.of("cp:hash"))
        #expect(try hashOwner.command(["HGET", "cp:hash", "f"]).first?.textValue == "x")

        // And back: the Cluster is the source now.
        let back = try WarmRedisServer()
        let again = try WarmTestKit.warmset([
            "warm", try manifest(keys + ["cp:hash"], in: dir), "--redis", back.urlString(),
            "--copy-from", cluster.nodes[1].urlString(),
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try back.command(["DBSIZE"]) == [.integer(Int64(keys.count + 1))])
        let replies = try back.command(["GET", "cp:7"], ["TTL", "cp:7"], ["GET", "cp:8"], ["TTL", "cp:8"], ["HGET", "cp:hash", "f"])
        #expect(replies[0].textValue == "v:7" && replies[2].textValue == "v:8" && replies[4].textValue == "x")
        #expect((replies[1].intValue ?? 0) <= 900 && (replies[1].intValue ?? 0) >= 890)
        #expect(replies[3] == .integer(-1))
    }
}
