import Foundation
import Testing
import WarmsetRedis
import WarmsetWarm

/// Faults of issue 8 not covered elsewhere: Redis full under `noeviction`, Redis restarted and a
/// Cluster master killed while a run is writing, and an origin that rate-limits in bursts, times
/// out and answers 5xx in the same run.
@Suite("Redis faults", .serialized)
struct RedisFaultTests {
    func manifest(_ lines: [String], in directory: URL, name: String = "warm.keys") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits until `condition` holds, checking every 50 ms; false after `timeout` seconds.
    static func eventually(timeout: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    /// - Parameter downSeconds: how long Redis stays down. A quick restart is ridden out by the
    ///   reconnect (AUTH and SELECT again); a longer one outlasts the reconnect attempts (about
    ///   0.6 s), so the node is marked down and the rest of its keys fail as `node_down`.
    @Test("Redis restarted mid-warm: the run logs in again (AUTH, SELECT) or fails the rest honestly; a rerun completes",
          arguments: [0.0, 1.5])
    func restartedRedis(downSeconds: Double) throws {
        let redis = try WarmRedisServer()  // not persistent: what is in db 3 afterwards was written after the restart
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<400).map { "restart:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let arguments = [
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(user: "warmer", password: "warmer-pw", db: 3),
            "--origin", origin.base + "/fast/{key}", "--ttl", "600", "--rate", "200/s", "--batch", "10", "--connections", "2",
            "--report", report.path, "--reconnect-for", "0.5s",  // shorter than the outage: the rest fails, honestly
        ]
        let restarted = Mutexed(false)
        let restarter = Thread {
            // Restart it once the run has written some keys (or after 20 s).
            _ = Self.eventually { ((try? redis.command(["DBSIZE"], db: 3).first?.intValue) ?? 0) >= 60 }
            redis.kill()
            if downSeconds > 0 { Thread.sleep(forTimeInterval: downSeconds) }  // the fault itself: Redis stays down this long
            try? redis.start()
            restarted.set(true)
        }
        restarter.start()
        let first = try WarmTestKit.warmset(arguments)
        #expect(Self.eventually { restarted.isSet })
        let json = try warmReport(report)
        let warmed = try #require(json["warmed"] as? Int)
        let failed = try #require(json["failed"] as? Int)
        #expect(warmed + failed + (json["present"] as? Int ?? 0) == 400 && json["unaccounted"] as? Int == 0, "\(json)")
        let reasons = json["failed_by_reason"] as? [String: Int] ?? [:]
        #expect(Set(reasons.keys).isSubset(of: ["node_down", "connection_lost"]), "\(reasons)")
        #expect(first.status == (failed == 0 ? 0 : 2), "\(first.stderr)")
        if downSeconds > 0 {
            #expect(failed > 0 && first.stderr.contains("node_down") && first.stderr.contains("127.0.0.1:\(redis.port) is down"), "\(first.stderr)")
            // The headline does not claim the failed keys as warmed.
            #expect(first.stderr.contains("warmset: 400 keys to redis://warmer:***@127.0.0.1:\(redis.port)/3 from"), "\(first.stderr)")
            #expect(first.stderr.contains("  warmed      \(warmed) "), "\(first.stderr)")
        }
        #expect((json["counters"] as? [String: Int])?["reconnects"] ?? 0 > 0, "the broken connection was noticed")
        // Whatever reached the restarted server went to db 3 as 'warmer' (logged in again), and
        // no key reported failed was written.
        #expect(try redis.command(["DBSIZE"], db: 0) == [.integer(0)])
        let failures = try #require(json["failures"] as? [[String: Any]])
        let failedKeys = failures.compactMap { $0["key"] as? String }
        #expect(failedKeys.count == failed)
        if !failedKeys.isEmpty {
            let exists = try redis.commands(failedKeys.map { ["EXISTS", $0] }, db: 3)
            #expect(exists.allSatisfy { $0 == .integer(0) }, "a key reported failed is in Redis")
        }

        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect((rerun["present"] as? Int ?? 0) + (rerun["warmed"] as? Int ?? 0) == 400, "\(rerun)")
        #expect(try redis.command(["DBSIZE"], db: 3) == [.integer(400)])
    }

    @Test("One Cluster master killed mid-warm: its keys fail with a reason, the others are warmed; a rerun after its restart completes")
    func clusterMasterKilledMidWarm() throws {
        let cluster = try WarmRedisCluster()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<600).map { "mk:\($0)" }
        let down = cluster.nodes[2]
        let live = cluster.nodes.filter { $0.port != down.port }
        var downKeys = Set<String>()
        for key in keys where try cluster.owner(ofSlot: ClusterSlot.of(key)).port == down.port { downKeys.insert(key) }
        let report = dir.appendingPathComponent("report.json")
        let arguments = [
            "warm", try manifest(keys, in: dir), "--redis", cluster.nodes[0].urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "600", "--rate", "200/s", "--batch", "10", "--connections", "2", "--report", report.path, "--reconnect-for", "0.5s",
        ]
        let killed = Mutexed(false)
        let killer = Thread {
            // Kill it during the run, once it holds some of its keys (or after 20 s).
            _ = Self.eventually { ((try? down.command(["DBSIZE"]).first?.intValue) ?? 0) >= 20 }
            down.kill()
            killed.set(true)
        }
        killer.start()
        let first = try WarmTestKit.warmset(arguments)
        #expect(Self.eventually { killed.isSet })
        #expect(first.status == 2, "\(first.stderr)")
        #expect(first.stderr.contains("127.0.0.1:\(down.port)"), "\(first.stderr)")
        let json = try warmReport(report)
        let warmed = try #require(json["warmed"] as? Int)
        let failed = try #require(json["failed"] as? Int)
        #expect(warmed + failed + (json["present"] as? Int ?? 0) == keys.count && json["unaccounted"] as? Int == 0, "\(json)")
        let reasons = json["failed_by_reason"] as? [String: Int] ?? [:]
        #expect(!reasons.isEmpty && Set(reasons.keys).isSubset(of: ["node_down", "connection_lost"]), "\(reasons)")
        let failures = try #require(json["failures"] as? [[String: Any]])
        let failedKeys = Set(failures.compactMap { $0["key"] as? String })
        #expect(failedKeys.count == failed && failedKeys.isSubset(of: downKeys), "only the dead master's keys fail")
        #expect(failedKeys.count < downKeys.count, "it was killed during the run, after some of its keys were written")
        // Every key of the other masters was warmed, on its master.
        var onLive = Set<String>()
        for node in live {
            guard case .array(let found) = try node.command(["KEYS", "*"])[0] else { continue }
            onLive.formUnion(found.compactMap(\.textValue))
        }
        #expect(onLive == Set(keys).subtracting(downKeys))

        // The master comes back (empty: it was not persistent) with its slots; a rerun completes.
        try down.start()
        #expect(Self.eventually {
            cluster.nodes.allSatisfy { (try? $0.command(["CLUSTER", "INFO"]).first?.textValue?.contains("cluster_state:ok")) == true }
        })
        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect((rerun["present"] as? Int ?? 0) + (rerun["warmed"] as? Int ?? 0) == keys.count, "\(rerun)")
        #expect(try cluster.keysByNode().values.map(\.count).reduce(0, +) == keys.count)
    }

    @Test("The origin answers 429 in bursts, 502 and times out in one run: backoff honoured, every key accounted for, a rerun completes")
    func originBurstsOf429TimeoutsAnd5xx() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin(slowSeconds: 4)
        let dir = try WarmTestKit.temporaryDirectory()
        var lines: [String] = []
        for i in 0..<40 { lines.append(#"{"rank":\#(lines.count + 1),"key":"burst:\#(i)","count":9,"path":"/burst/b\#(i)"}"#) }
        for i in 0..<8 { lines.append(#"{"rank":\#(lines.count + 1),"key":"flaky:\#(i)","count":5,"path":"/flaky/f\#(i)"}"#) }
        for i in 0..<3 { lines.append(#"{"rank":\#(lines.count + 1),"key":"slow:\#(i)","count":2,"path":"/slow/s\#(i)"}"#) }
        let path = try manifest(lines, in: dir, name: "warm.jsonl")
        let report = dir.appendingPathComponent("report.json")
        func arguments(timeout: String) -> [String] {
            ["warm", path, "--redis", redis.urlString(), "--origin", origin.base + "{path}", "--ttl", "600", "--timeout", timeout,
             "--batch", "10", "--report", report.path]
        }
        let started = Date()
        // 1.5 s: far above a fast answer on a loaded machine, far below the slow endpoint's 4 s.
        let first = try WarmTestKit.warmset(arguments(timeout: "1.5"))
        let elapsed = Date().timeIntervalSince(started)
        #expect(first.status == 2, "some keys failed: exit 2; \(first.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 40, "every key rate-limited was fetched after backing off; \(json)")
        #expect((json["failed_by_reason"] as? [String: Int]) == ["origin_http_502": 8, "origin_timeout": 3])
        #expect(json["unaccounted"] as? Int == 0)
        for reason in ["origin_http_502", "origin_timeout"] { #expect(first.stderr.contains(reason), "\(first.stderr)") }
        // Every 5th /burst/ request was a 429: each was retried once more, after Retry-After: 1.
        let retries = (json["counters"] as? [String: Int])?["origin_retries"] ?? 0
        let burstRequests = try origin.requests().filter { $0.key.hasPrefix("/burst/") }.values.reduce(0, +)
        #expect(retries >= 8 && burstRequests == 40 + retries, "\(retries) retries, \(burstRequests) requests")
        #expect(elapsed >= 1.0, "Retry-After: 1 was honoured")
        #expect(try redis.command(["DBSIZE"]) == [.integer(40)])

        // The origin recovered (502 was once per key) and answers within the longer timeout.
        let second = try WarmTestKit.warmset(arguments(timeout: "10"))
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect(rerun["present"] as? Int == 40 && rerun["warmed"] as? Int == 11, "\(rerun)")
        #expect(try redis.command(["DBSIZE"]) == [.integer(51)])
    }

    @Test("Redis at maxmemory with noeviction: OOM replies fail their keys with the reason; a rerun with room completes")
    func outOfMemory() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        // Room for some keys, not for all: about 100 bytes each, 60 KB of room.
        try redis.command(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        let used = try #require(try Self.usedMemory(redis))
        try redis.command(["CONFIG", "SET", "maxmemory", String(used + 60_000)])
        let keys = (0..<2000).map { "oom:\($0)" }
        let path = dir.appendingPathComponent("warm.keys").path
        try (keys.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let report = dir.appendingPathComponent("report.json")
        let arguments = [
            "warm", path, "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "600",
            "--report", report.path, "--max-failures", "100%",
        ]
        let first = try WarmTestKit.warmset(arguments)
        let json = try warmReport(report)
        let warmed = json["warmed"] as? Int ?? -1
        let failed = json["failed"] as? Int ?? -1
        #expect(first.status == 2, "\(first.stderr)")
        #expect(warmed > 0 && failed > 0, "warmed \(warmed), failed \(failed)")
        #expect(warmed + failed + (json["present"] as? Int ?? 0) == 2000)
        #expect(json["unaccounted"] as? Int == 0)
        let reasons = json["failed_by_reason"] as? [String: Int] ?? [:]
        #expect(reasons.keys.contains { $0.lowercased().contains("oom") }, "\(reasons)")

        try redis.command(["CONFIG", "SET", "maxmemory", "0"])
        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try redis.command(["DBSIZE"]) == [.integer(2000)])
    }

    static func usedMemory(_ redis: WarmRedisServer) throws -> Int? {
        guard case .string(let bytes)? = try redis.command(["INFO", "memory"]).first else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) where line.hasPrefix("used_memory:") {
            return Int(line.dropFirst("used_memory:".count))
        }
        return nil
    }
}
