import Foundation
import Testing
import WarmsetRedis

/// Issue 19's reconnects: a Redis that restarts for 5 s in the middle of a warm, and one that
/// answers LOADING while it reads its data back, are ridden out within `--reconnect-for`.
@Suite("Redis reconnects", .serialized)
struct RedisReconnectTests {
    func manifest(_ keys: [String], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("warm.keys").path
        try (keys.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A persistent Redis (every write fsynced to its append-only file) killed once the run has
    /// written 60 keys and started again 5 s later: the run reconnects (AUTH and SELECT again),
    /// resends what had no reply, and ends with exit 0 and every key in Redis.
    @Test func aRedisRestartedForFiveSecondsMidWarmLosesNothing() throws {
        let redis = try WarmRedisServer(persistent: true)
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<400).map { "restart5:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let restarted = Mutexed(false)
        let restarter = Thread {
            _ = RedisFaultTests.eventually { ((try? redis.command(["DBSIZE"], db: 2).first?.intValue) ?? 0) >= 60 }
            redis.kill()
            Thread.sleep(forTimeInterval: 5)
            try? redis.start()
            restarted.set(true)
        }
        restarter.start()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(user: "warmer", password: "warmer-pw", db: 2),
            "--origin", origin.base + "/fast/{key}", "--ttl", "600", "--rate", "200/s", "--batch", "10", "--connections", "2",
            "--report", report.path,
        ])
        #expect(RedisFaultTests.eventually { restarted.isSet })
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["failed"] as? Int == 0 && json["unaccounted"] as? Int == 0, "\(json)")
        #expect((json["warmed"] as? Int ?? 0) + (json["present"] as? Int ?? 0) == 400, "\(json)")
        #expect((json["counters"] as? [String: Int])?["reconnects"] ?? 0 > 0, "the outage was noticed")
        #expect(try redis.command(["DBSIZE"], db: 2) == [.integer(400)], "every key, in database 2")
        #expect(try redis.command(["DBSIZE"], db: 0) == [.integer(0)], "logged in again as warmer with SELECT 2")
    }

    /// A restart that takes longer than --reconnect-for: the keys of that node fail as node_down
    /// after about that long, each accounted for, exit 2.
    @Test func anOutageLongerThanReconnectForFailsTheRestInTime() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<300).map { "gone:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        redis.kill(whenever: redis, holds: 40, checkingEvery: 0.02)
        let started = Date()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            "--rate", "200/s", "--batch", "10", "--connections", "1", "--reconnect-for", "2s", "--report", report.path,
        ])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("reconnecting for 2s"), "\(result.stderr)")
        #expect(elapsed >= 2 && elapsed < 20, "gave up after --reconnect-for, not at once and not never: \(elapsed) s")
        let json = try warmReport(report)
        #expect(json["unaccounted"] as? Int == 0 && (json["failed_by_reason"] as? [String: Int])?["node_down"] ?? 0 > 0, "\(json)")
    }

    /// Redis answers LOADING while it reads its RDB back (slowed with `key-load-delay`): the run
    /// waits instead of failing keys, then warms them; exit 0.
    @Test func loadingIsWaitedOut() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        // 20,000 keys in the RDB at 100 µs each: about 2 s of LOADING.
        for chunk in stride(from: 0, to: 20_000, by: 5_000) {
            _ = try redis.commands((chunk..<chunk + 5_000).map { ["SET", "old:\($0)", "x"] })
        }
        try redis.command(["SAVE"])
        redis.kill()
        try redis.start(["--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024"], waitForPing: false)
        // Wait until it accepts connections and says LOADING.
        var loading = false
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !loading {
            if let connection = try? RedisConnection(RedisConnectionSettings(url: redis.url())),
                case .error(let message)? = connection.pipeline([[Array("PING".utf8)]]).replies.first
            {
                loading = message.hasPrefix("LOADING")
            }
            if !loading { Thread.sleep(forTimeInterval: 0.02) }
        }
        try #require(loading, "redis-server never answered LOADING")
        let keys = (0..<50).map { "new:\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 50 && json["failed"] as? Int == 0, "\(json)")
        #expect((json["counters"] as? [String: Int])?["loading_waits"] ?? 0 > 0, "the run saw LOADING: \(json)")
        #expect(try redis.command(["DBSIZE"]) == [.integer(20_050)])
    }

    @Test(arguments: ["0.5x", "1y", "2d"]) func badReconnectForIsAUsageError(_ value: String) throws {
        let result = try WarmTestKit.warmset(["warm", "-", "--redis", "redis://127.0.0.1:1", "--origin", "http://x/{key}", "--ttl", "9", "--reconnect-for", value], stdin: "a\n")
        #expect(result.status == 64 && result.stderr.contains("--reconnect-for '\(value)'"), "\(result.stderr)")
    }

    @Test func reconnectForIsForRedisOnly() throws {
        let result = try WarmTestKit.warmset(["warm", "-", "--memcached", "127.0.0.1:1", "--origin", "http://x/{key}", "--ttl", "9", "--reconnect-for", "5s"], stdin: "a\n")
        #expect(result.status == 64 && result.stderr.contains("--reconnect-for is for Redis"), "\(result.stderr)")
    }
}
