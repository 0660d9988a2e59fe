import Foundation
import Testing
import WarmsetRedis
import WarmsetWarm

/// `warmset warm --redis` against a real redis-server and a real HTTP origin, through the built
/// binary.
@Suite("Warm standalone Redis", .serialized)
struct RedisStandaloneTests {
    func manifest(_ lines: [String], in directory: URL, name: String = "warm.keys") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func nxSkipsPresentKeysAndFetchesNothingForThem() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        try redis.command(["SET", "k2", "mine"], ["SET", "k4", "also-mine"])
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (1...6).map { "k\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "300",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["GET", "k2"], ["GET", "k4"], ["GET", "k1"]).map(\.textValue) == ["mine", "also-mine", "value-of:k1"])
        let requests = try origin.requests()
        #expect(requests["/fast/k2"] == nil && requests["/fast/k4"] == nil)
        #expect(requests.count == 4)
        #expect(try origin.userAgents() == ["warmset/0.1.0"])
        #expect(result.stderr.contains("present     2"))
        #expect(result.stderr.contains("warmed      4"))
    }

    @Test func ttlAndJitterLandAsSpecified() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<200).map { "item:\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "1000", "--ttl-jitter", "10%", "--batch", "32",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let ttls = try redis.commands(keys.map { ["TTL", $0] }).map { $0.intValue ?? -99 }
        let policy = TTLPolicy(seconds: 1000, jitter: 0.1)
        for (key, ttl) in zip(keys, ttls) {
            let expected = try #require(policy.ttl(forKey: key))
            #expect(ttl <= Int64(expected) && ttl >= Int64(expected) - 3, "\(key): TTL \(ttl), expected \(expected)")
            #expect(ttl >= 897 && ttl <= 1100)
        }
        #expect(Set(ttls).count > 50, "jitter spreads the expiries")
    }

    @Test func overwriteAndNoTTL() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        try redis.command(["SET", "a", "old", "EX", "50"])
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["a", "b"], in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}",
            "--no-ttl", "--overwrite",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["GET", "a"], ["TTL", "a"], ["TTL", "b"]) == [.string(Array("value-of:a".utf8)), .integer(-1), .integer(-1)])
    }

    @Test func originFailuresAreReportedByReasonAndRetryAfterIsHonoured() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let lines = [
            #"{"rank":1,"key":"good","count":5,"path":"/fast/good"}"#,
            #"{"rank":2,"key":"gone","count":4,"path":"/missing/gone"}"#,
            #"{"rank":3,"key":"broken","count":3,"path":"/fail/broken"}"#,
            #"{"rank":4,"key":"busy","count":2,"path":"/limited/busy"}"#,
        ]
        let report = dir.appendingPathComponent("report.json")
        let started = Date()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(lines, in: dir, name: "warm.jsonl"), "--redis", redis.urlString(),
            "--origin", origin.base + "{path}", "--ttl", "60", "--report", report.path,
        ])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 2, "some keys failed: exit 2; \(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 2)
        #expect(json["failed"] as? Int == 2)
        #expect(json["unaccounted"] as? Int == 0)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["origin_http_404": 1, "origin_http_500": 1])
        let failures = try #require(json["failures"] as? [[String: Any]])
        #expect(Set(failures.compactMap { $0["key"] as? String }) == ["gone", "broken"])
        #expect((json["counters"] as? [String: Int])?["origin_retries"] == 1)
        #expect(elapsed >= 1.0, "Retry-After: 1 was honoured")
        #expect(try origin.requests()["/limited/busy"] == 2)
        #expect(try redis.command(["GET", "busy"], ["EXISTS", "gone"]) == [.string(Array("value-of:busy".utf8)), .integer(0)])
    }

    @Test func maxFailuresStopsEarlyAndCountsEveryKey() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<50).map { "m\($0)" }
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/missing/{key}",
            "--ttl", "60", "--max-failures", "3", "--batch", "2", "--connections", "1", "--report", report.path,
        ])
        #expect(result.status == 1, "stopped early: exit 1; \(result.stderr)")
        #expect(result.stderr.contains("stopped early"))
        let json = try warmReport(report)
        #expect(json["stopped_early"] as? Bool == true)
        #expect(json["failed"] as? Int == 50)
        #expect(json["unaccounted"] as? Int == 0)
        let reasons = try #require(json["failed_by_reason"] as? [String: Int])
        #expect((reasons["not_attempted"] ?? 0) > 0)
        #expect(try origin.requests().count < 50)
    }

    @Test func dryRunFetchesAndWritesNothing() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        try redis.command(["SET", "x1", "v"])
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["x1", "x2", "x3"], in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "60", "--dry-run", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["would_warm"] as? Int == 2 && json["present"] as? Int == 1 && json["warmed"] as? Int == 0)
        #expect(try origin.requests().isEmpty)
        #expect(try redis.command(["DBSIZE"]) == [.integer(1)])
    }

    @Test func copyFromKeepsValuesAndTTLs() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        try source.command(
            ["SET", "s:plain", "hello"], ["SET", "s:ttl", "world", "EX", "500"], ["HSET", "s:hash", "f", "v"],
            ["RPUSH", "s:list", "1", "2", "3"])
        try target.command(["SET", "s:plain", "already-here"])
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let keys = ["s:plain", "s:ttl", "s:hash", "s:list", "s:absent"]
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", target.urlString(), "--copy-from", source.urlString(user: "reader", password: "reader-pw"),
            "--report", report.path,
        ])
        #expect(result.status == 2, "s:absent is missing at the source; \(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 3 && json["present"] as? Int == 1)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["missing_at_source": 1])
        #expect(!(json["source"] as? String ?? "").contains("reader-pw"))
        #expect((json["counters"] as? [String: Int])?["copy_reads_without_multi"] == 1, "the reader may not MULTI: MGET, then PTTL")
        let replies = try target.command(["GET", "s:plain"], ["GET", "s:ttl"], ["HGET", "s:hash", "f"], ["LRANGE", "s:list", "0", "-1"], ["TTL", "s:ttl"], ["TTL", "s:hash"])
        #expect(replies[0].textValue == "already-here")
        #expect(replies[1].textValue == "world")
        #expect(replies[2].textValue == "v")
        #expect(replies[3] == .array(["1", "2", "3"].map { .string(Array($0.utf8)) }))
        let ttl = try #require(replies[4].intValue)
        #expect(ttl <= 500 && ttl >= 495, "the remaining TTL is kept")
        #expect(replies[5] == .integer(-1))

        // --ttl replaces the source's TTL; --overwrite replaces the value.
        let again = try WarmTestKit.warmset([
            "warm", try manifest(["s:plain", "s:hash"], in: dir, name: "two.keys"), "--redis", target.urlString(),
            "--copy-from", source.urlString(), "--ttl", "40", "--overwrite",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        let after = try target.command(["GET", "s:plain"], ["TTL", "s:plain"], ["TTL", "s:hash"])
        #expect(after[0].textValue == "hello")
        #expect((after[1].intValue ?? 0) <= 40 && (after[1].intValue ?? 0) >= 38)
        #expect((after[2].intValue ?? 0) <= 40 && (after[2].intValue ?? 0) >= 38)
    }

    /// The number of times `server` ran `command` since the last CONFIG RESETSTAT.
    func calls(_ server: WarmRedisServer, _ command: String) throws -> Int {
        let info = try server.command(["INFO", "commandstats"]).first?.textValue ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):calls=") }) else { return 0 }
        return Int(line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }) ?? -1
    }

    /// copy-from skips the EXISTS round (writes without NX never overwrite: MSETNX's 0, SET NX's
    /// nil) until a batch turns out mostly present; then it checks first, so the source is not
    /// read for keys the target has. With --ttl the source's PTTL is not asked at all.
    @Test func copyFromChecksExistenceOnlyWhenItPays() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        let keys = (0..<300).map { "c:\($0)" }
        _ = try source.commands(keys.map { ["SET", $0, "from-source:" + $0] })
        _ = try target.commands(keys.prefix(200).map { ["SET", $0, "kept"] })
        try source.command(["CONFIG", "RESETSTAT"])
        try target.command(["CONFIG", "RESETSTAT"])
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        // One connection and batches of 50, so the batches run in order: the first (all present)
        // is written blind (MSETNX refused, then 50 SET NX), the next three are checked (all
        // present: no reads), the fifth is checked (all missing), the sixth is written blind again.
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", target.urlString(), "--copy-from", source.urlString(),
            "--connections", "1", "--batch", "50", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 100 && json["present"] as? Int == 200)
        #expect(try calls(source, "mget") == 3, "the source is read for the first blind batch and the 100 missing keys only")
        #expect(try calls(source, "dump") == 0 && calls(source, "pttl") == 0, "no key of the source has a TTL (INFO keyspace)")
        #expect(try calls(target, "exists") == 200)
        #expect(try calls(target, "msetnx") == 3 && calls(target, "set") == 50)
        let values = try target.commands([["GET", "c:0"], ["GET", "c:199"], ["GET", "c:200"], ["GET", "c:299"]])
        #expect(values.map(\.textValue) == ["kept", "kept", "from-source:c:200", "from-source:c:299"])

        // --ttl replaces the source's TTL, so neither INFO nor PTTL is asked.
        try source.command(["CONFIG", "RESETSTAT"])
        try target.command(["FLUSHALL"])
        let again = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir, name: "again.keys"), "--redis", target.urlString(), "--copy-from", source.urlString(), "--ttl", "90",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        // First: each `calls` is an INFO itself.
        #expect(try calls(source, "info") == 1, "only the start's INFO cluster: no INFO keyspace")
        #expect(try calls(source, "pttl") == 0 && calls(source, "dump") == 0)
        #expect(try calls(source, "mget") >= 2)
        let ttl = try #require(try target.command(["TTL", "c:123"]).first?.intValue)
        #expect(ttl <= 90 && ttl >= 88)
    }

    /// Strings are copied with MGET and MSETNX (or SET PX NX when they have a TTL), other types
    /// with DUMP and RESTORE; a batch MSETNX refuses (a key present) is written key by key, and
    /// every key keeps its value, type and remaining TTL.
    @Test func copyFromStringsAndOtherTypesInOneBatch() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        let keys = (0..<40).map { "m:\($0)" }
        var setup: [[String]] = []
        for (n, key) in keys.enumerated() {
            switch n % 4 {
            case 0: setup.append(["SET", key, "plain:\(n)"])
            case 1: setup.append(["SET", key, "ttl:\(n)", "EX", "600"])
            case 2: setup.append(["HSET", key, "field", "hash:\(n)"])
            default: setup.append(["RPUSH", key, "a", "b"]); setup.append(["EXPIRE", key, "700"])
            }
        }
        setup.append(["SET", "m:empty", ""])
        _ = try source.commands(setup)
        try target.command(["SET", "m:20", "the target's own"])  // m:20 is a plain string: MSETNX refuses
        try source.command(["CONFIG", "RESETSTAT"])
        try target.command(["CONFIG", "RESETSTAT"])
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys + ["m:empty", "m:absent"], in: dir), "--redis", target.urlString(), "--copy-from", source.urlString(),
            "--connections", "1", "--batch", "100", "--report", report.path,
        ])
        #expect(result.status == 2, "m:absent is missing at the source; \(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 40 && json["present"] as? Int == 1)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["missing_at_source": 1])
        #expect(try calls(source, "mget") == 1 && calls(source, "dump") == 21, "DUMP for the 20 hashes and lists and the absent key")
        #expect(try calls(source, "pttl") == 42, "the database has keys with a TTL: PTTL for every key")
        #expect(try calls(target, "msetnx") == 1 && calls(target, "restore") == 20)
        for (n, key) in keys.enumerated() where n != 20 {
            switch n % 4 {
            case 0:
                #expect(try target.command(["GET", key], ["TTL", key]) == [.string(Array("plain:\(n)".utf8)), .integer(-1)])
            case 1:
                let replies = try target.command(["GET", key], ["TTL", key])
                #expect(replies[0].textValue == "ttl:\(n)")
                #expect((replies[1].intValue ?? 0) <= 600 && (replies[1].intValue ?? 0) >= 595, "\(key) keeps its TTL")
            case 2:
                #expect(try target.command(["HGET", key, "field"], ["TTL", key]) == [.string(Array("hash:\(n)".utf8)), .integer(-1)])
            default:
                let replies = try target.command(["LRANGE", key, "0", "-1"], ["TTL", key])
                #expect(replies[0] == .array([.string(Array("a".utf8)), .string(Array("b".utf8))]))
                #expect((replies[1].intValue ?? 0) <= 700 && (replies[1].intValue ?? 0) >= 695, "\(key) keeps its TTL")
            }
        }
        #expect(try target.command(["GET", "m:20"], ["GET", "m:empty"], ["EXISTS", "m:absent"]) == [
            .string(Array("the target's own".utf8)), .string([]), .integer(0),
        ])

        // --overwrite: one MSET for the strings without a TTL, and it replaces m:20.
        try target.command(["CONFIG", "RESETSTAT"])
        let again = try WarmTestKit.warmset([
            "warm", try manifest(["m:0", "m:4", "m:20"], in: dir, name: "three.keys"), "--redis", target.urlString(),
            "--copy-from", source.urlString(), "--overwrite",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try calls(target, "mset") == 1)
        #expect(try target.command(["GET", "m:20"]).first?.textValue == "plain:20")
    }

    /// --no-ttl drops the source's TTLs: strings go out in one MSETNX, other types as RESTORE
    /// with no expiry, and the source is not asked PTTL.
    @Test func copyFromWithNoTTLDropsTheSourcesTTLs() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        try source.command(["SET", "n:1", "one", "EX", "500"], ["SET", "n:2", "two", "EX", "500"], ["SADD", "n:3", "x"], ["EXPIRE", "n:3", "500"])
        try source.command(["CONFIG", "RESETSTAT"])
        try target.command(["CONFIG", "RESETSTAT"])
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["n:1", "n:2", "n:3"], in: dir), "--redis", target.urlString(), "--copy-from", source.urlString(), "--no-ttl",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try calls(source, "pttl") == 0)
        #expect(try calls(target, "msetnx") == 1 && calls(target, "restore") == 1)
        #expect(try target.command(["GET", "n:1"], ["TTL", "n:1"], ["TTL", "n:2"], ["SISMEMBER", "n:3", "x"], ["TTL", "n:3"]) == [
            .string(Array("one".utf8)), .integer(-1), .integer(-1), .integer(1), .integer(-1),
        ])
    }

    /// A source user that may not MGET is read with DUMP and PTTL per key: same result.
    @Test func copyFromASourceThatRefusesMGET() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        try source.command(["SET", "d:1", "one"], ["SET", "d:2", "two", "EX", "300"], ["SADD", "d:3", "x"])
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["d:1", "d:2", "d:3"], in: dir), "--redis", target.urlString(),
            "--copy-from", source.urlString(user: "dumper", password: "dumper-pw"), "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 3)
        let counters = json["counters"] as? [String: Int] ?? [:]
        #expect(counters["copy_reads_without_multi"] == 1 && counters["copy_reads_with_dump"] == 1, "\(counters)")
        let replies = try target.command(["GET", "d:1"], ["GET", "d:2"], ["TTL", "d:2"], ["SISMEMBER", "d:3", "x"], ["TTL", "d:1"])
        #expect(replies[0].textValue == "one" && replies[1].textValue == "two" && replies[3] == .integer(1) && replies[4] == .integer(-1))
        #expect((replies[2].intValue ?? 0) <= 300 && (replies[2].intValue ?? 0) >= 295)
    }

    @Test func wrongPasswordIsAClearError() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["a"], in: dir), "--redis", redis.urlString(user: "warmer", password: "not-the-password"),
            "--origin", origin.base + "/fast/{key}", "--ttl", "60",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("AUTH as 'warmer' failed"), "\(result.stderr)")
        #expect(result.stderr.contains("WRONGPASS"))
        #expect(result.stderr.contains("redis://warmer:***@127.0.0.1:\(redis.port)/0"))
        #expect(!result.stderr.contains("not-the-password"))
        #expect(try origin.requests().isEmpty)
    }

    @Test func passwordFromREDISCLI_AUTHAndDatabase() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset(
            [
                "warm", try manifest(["a", "b"], in: dir), "--redis", redis.urlString(user: "warmer", db: 5),
                "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            ], environment: ["REDISCLI_AUTH": "warmer-pw"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["DBSIZE"], db: 5) == [.integer(2)])
        #expect(try redis.command(["DBSIZE"], db: 0) == [.integer(0)])
        #expect(!result.stderr.contains("warmer-pw"))
    }

    @Test func nopermIsAClearError() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let keys = (0..<20).map { "np\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(user: "reader", password: "reader-pw"),
            "--origin", origin.base + "/fast/{key}", "--ttl", "60", "--report", report.path, "--batch", "5", "--connections", "1",
        ])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("the ACL user 'reader' may not run SET"), "\(result.stderr)")
        #expect(result.stderr.contains("NOPERM"))
        #expect(!result.stderr.contains("reader-pw"))
        let json = try warmReport(report)
        #expect(json["unaccounted"] as? Int == 0 && json["failed"] as? Int == 20)
        #expect(try redis.command(["DBSIZE"]) == [.integer(0)])
    }

    @Test func tlsURLToAnUnknownHostIsOneSentenceWithoutTheSecret() throws {
        let result = try WarmTestKit.warmset([
            "warm", "-", "--redis", "rediss://u:pw-secret@cache.invalid:6380", "--origin", "http://127.0.0.1:1/{key}", "--ttl", "60",
        ], stdin: "a\n")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("cannot resolve the host 'cache.invalid'"), "\(result.stderr)")
        #expect(!result.stderr.contains("pw-secret"))
    }

    @Test func killedRedisGivesAnHonestReportAndARerunFinishes() throws {
        let redis = try WarmRedisServer(persistent: true)
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<400).map { "kill:\($0)" }
        let path = try manifest(keys, in: dir)
        let report = dir.appendingPathComponent("report.json")
        let arguments = [
            "warm", path, "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}", "--ttl", "600",
            "--rate", "200/s", "--batch", "10", "--connections", "2", "--report", report.path, "--reconnect-for", "0.5s",
        ]
        // Kill it once the run has written some keys.
        redis.kill(whenever: redis, holds: 60, checkingEvery: 0.05)
        let first = try WarmTestKit.warmset(arguments)
        #expect(first.status == 2, "\(first.stderr)")
        let json = try warmReport(report)
        let warmed = try #require(json["warmed"] as? Int)
        let failed = try #require(json["failed"] as? Int)
        #expect(warmed > 0 && failed > 0)
        #expect(warmed + failed == 400 && json["unaccounted"] as? Int == 0)
        let reasons = try #require(json["failed_by_reason"] as? [String: Int])
        #expect(Set(reasons.keys).isSubset(of: ["node_down", "connection_lost"]), "\(reasons)")
        #expect(first.stderr.contains("node_down"))

        try redis.start()
        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect((rerun["present"] as? Int ?? 0) + (rerun["warmed"] as? Int ?? 0) == 400)
        #expect((rerun["present"] as? Int ?? 0) >= warmed - 20, "what the first run wrote survived (appendfsync always)")
        #expect(try redis.command(["DBSIZE"]) == [.integer(400)])
    }

    /// The copy-from source dies mid-run: the keys it had not answered for fail (the batch in
    /// flight as connection_lost, the rest as node_down), every key is accounted for, and a rerun
    /// against the restarted source finishes the job.
    @Test func aCopySourceKilledMidRunFailsOnlyTheKeysNotYetCopied() throws {
        let source = try WarmRedisServer()
        let target = try WarmRedisServer()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<40_000).map { "src:\($0)" }
        let fill = keys.map { ["SET", $0, "v-" + $0] }
        _ = try source.commands(fill)
        let path = try manifest(keys, in: dir)
        let report = dir.appendingPathComponent("report.json")
        let arguments = [
            "warm", path, "--redis", target.urlString(), "--copy-from", source.urlString(), "--connections", "1", "--report", report.path,
            "--reconnect-for", "0.5s",
        ]
        source.kill(whenever: target, holds: 400, checkingEvery: 0.01)
        let first = try WarmTestKit.warmset(arguments + ["--batch", "4"])  // small batches: a long run to kill
        #expect(first.status == 2, "\(first.stderr)")
        let json = try warmReport(report)
        let warmed = try #require(json["warmed"] as? Int)
        let failed = try #require(json["failed"] as? Int)
        #expect(warmed >= 400 && failed > 0, "warmed \(warmed), failed \(failed)")
        #expect(warmed + failed == keys.count && json["unaccounted"] as? Int == 0)
        let reasons = try #require(json["failed_by_reason"] as? [String: Int])
        #expect(Set(reasons.keys).isSubset(of: ["node_down", "connection_lost"]) && reasons["node_down"] != nil, "\(reasons)")
        #expect(try target.command(["DBSIZE"]) == [.integer(Int64(warmed))], "what was counted warmed is in the target")

        try source.start()
        _ = try source.commands(fill)
        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect(rerun["present"] as? Int == warmed && rerun["warmed"] as? Int == failed)
        #expect(try target.command(["DBSIZE"]) == [.integer(Int64(keys.count))])
    }

    @Test func reconnectLogsInAgain() throws {
        let redis = try WarmRedisServer()
        let connection = try RedisConnection(RedisConnectionSettings(url: redis.url(user: "warmer", password: "warmer-pw", db: 3)))
        #expect(connection.pipeline([[Array("SET".utf8), Array("r".utf8), Array("1".utf8)]]).error == nil)
        try redis.command(["CLIENT", "KILL", "USER", "warmer"])
        let broken = connection.pipeline([[Array("PING".utf8)]])
        #expect(broken.error?.kind == .io)
        let again = connection.pipeline([[Array("GET".utf8), Array("r".utf8)], [Array("ACL".utf8), Array("WHOAMI".utf8)]])
        #expect(again.error == nil)
        #expect(again.replies.map(\.textValue) == ["1", "warmer"])
    }
}

/// `warmset analyze … --warm-redis`: analysis and warm-up in one run.
@Suite("Analyze and warm in one run", .serialized)
struct AnalyzeAndWarmTests {
    /// One run: the bundled sample analyzed with its rules, the manifest written to `manifest`
    /// (a file name) and the top keys warmed into a fresh redis-server from a loopback origin
    /// (`template` after its base), with `options` added.
    private func analyzeAndWarmTheSample(manifest name: String, template: String, _ options: [String]) throws -> (
        redis: WarmRedisServer, origin: WarmOrigin, result: WarmTestKit.Run, report: URL, manifest: URL
    ) {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let sample = WarmTestKit.repoRoot.appendingPathComponent("fixtures/sample")
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let manifest = dir.appendingPathComponent(name)
        let result = try WarmTestKit.warmset(
            ["analyze", sample.appendingPathComponent("access.log.gz").path, "--rules", sample.appendingPathComponent("rules.yaml").path]
                + options + ["-o", manifest.path, "--warm-redis", redis.urlString(), "--origin", origin.base + template, "--ttl", "120", "--warm-report", report.path])
        return (redis, origin, result, report, manifest)
    }

    @Test func analyzeWarmsTheTopKeysWithTheirCaptures() throws {
        let (redis, origin, result, report, manifest) = try analyzeAndWarmTheSample(
            manifest: "top.jsonl", template: "/fast/{key}?path={path}", ["--top", "10", "--output-format", "jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 10)
        #expect(try redis.command(["DBSIZE"]) == [.integer(10)])
        // The same keys as the manifest the run also wrote, in Redis with the origin's values.
        let lines = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let key = try #require(first["key"] as? String)
        let value = try #require(try redis.command(["GET", key]).first?.textValue)
        #expect(value.hasPrefix("value-of:"))
        #expect(try origin.requests().keys.allSatisfy { $0.contains("?path=/") })
    }

    /// A keys manifest shows no captures, but a warmer after the analysis still gets them for
    /// its origin template (`AnalysisConfiguration.keepsCaptures`): every key's URL is built
    /// from its rule's first capture, none is skipped for lack of one.
    @Test func aKeysManifestStillGivesTheWarmerItsCaptures() throws {
        let (redis, origin, result, report, manifest) = try analyzeAndWarmTheSample(manifest: "top.keys", template: "/fast/{1}", ["--top", "8"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try warmReport(report)["warmed"] as? Int == 8)
        #expect(try redis.command(["DBSIZE"]) == [.integer(8)])
        // Every key of the sample's rules starts with its first capture after the prefix
        // (`product:12`, `user:7:profile`, `category:shoes:3`): the origin saw those.
        let keys = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").map(String.init)
        let firstCaptures = Set(keys.map { $0.split(separator: ":")[1] }.map { "/fast/\($0)" })
        #expect(Set(try origin.requests().keys) == firstCaptures)
    }

    @Test func warmOptionsWithoutWarmRedisAreAUsageError() throws {
        let result = try WarmTestKit.warmset(["analyze", "-", "--origin", "http://x/{key}", "--ttl", "5"], stdin: "")
        #expect(result.status == 64)
        #expect(result.stderr.contains("need --warm-redis"))
    }

    @Test func warmNeedsAValueSourceAndATTL() throws {
        let noSource = try WarmTestKit.warmset(["warm", "-", "--redis", "redis://127.0.0.1:1"])
        #expect(noSource.status == 64 && noSource.stderr.contains("--origin TEMPLATE or --copy-from URL"))
        let noTTL = try WarmTestKit.warmset(["warm", "-", "--redis", "redis://127.0.0.1:1", "--origin", "http://x/{key}"])
        #expect(noTTL.status == 64 && noTTL.stderr.contains("--ttl SECONDS is required"))
        let refused = try WarmTestKit.warmset(["warm", "-", "--redis", "redis://127.0.0.1:1", "--origin", "http://x/{key}", "--ttl", "9"], stdin: "a\n")
        #expect(refused.status == 1 && refused.stderr.contains("127.0.0.1:1/0: connecting failed"), "\(refused.stderr)")
    }
}

/// Origin limits: timeouts, the rate limit, headers; and the unix socket URL.
@Suite("Warm origin limits", .serialized)
struct WarmOriginLimitTests {
    func manifest(_ lines: [String], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("warm.keys").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aSlowOriginTimesOutPerKey() throws {
        let redis = try WarmRedisServer()
        // The origin would answer after 10 s: a run that ends well before proves the 0.5 s timeout
        // ended the requests, with room for a slow, busy machine.
        let origin = try WarmOrigin(slowSeconds: 10)
        let dir = try WarmTestKit.temporaryDirectory()
        let report = dir.appendingPathComponent("report.json")
        let started = Date()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["s1", "s2"], in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/slow/{key}",
            "--ttl", "60", "--timeout", "0.5", "--report", report.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 8, "the timeout, not the origin, ended the requests")
        let json = try warmReport(report)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["origin_timeout": 2])
        #expect(try redis.command(["DBSIZE"]) == [.integer(0)])
    }

    @Test func theRateLimitHolds() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let keys = (0..<60).map { "r\($0)" }
        let started = Date()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys, in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "60", "--rate", "40/s", "--batch", "10",
        ])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        // 60 requests at 40/s with a burst of 4: at least (60 - 4) / 40 = 1.4 s (the upper bound only catches a limit far too strict).
        #expect(elapsed >= 1.35 && elapsed < 15 * TestSupport.slowdown, "elapsed \(elapsed) s")
        #expect(try origin.requests().count == 60)
    }

    @Test func headersAndUserAgent() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["h1"], in: dir), "--redis", redis.urlString(), "--origin", origin.base + "/fast/{key}",
            "--ttl", "60", "--header", "X-Warm: yes", "--header", "User-Agent: cache-primer/2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let headers = try origin.lastHeaders()
        #expect(headers["X-Warm"] == "yes")
        #expect(headers["User-Agent"] == "cache-primer/2")
    }

    @Test func unixSocketURL() throws {
        let redis = try WarmRedisServer()
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let result = try WarmTestKit.warmset(
            [
                "warm", try manifest(["u1", "u2"], in: dir), "--redis", "unix://warmer@\(redis.socketPath)?db=4",
                "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            ], environment: ["REDISCLI_AUTH": "warmer-pw"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try redis.command(["GET", "u2"], db: 4) == [.string(Array("value-of:u2".utf8))])
    }
}
