import Foundation
import Testing
import WarmsetMemcached
import WarmsetWarm

/// `warmset warm --memcached` against two real memcached nodes and the HTTP origin, through the
/// built binary; every key is looked up on each node directly.
@Suite("Warm memcached", .serialized)
struct MemcachedWarmTests {
    func manifest(_ lines: [String], name: String = "warm.keys") throws -> String {
        let path = try WarmTestKit.temporaryDirectory().appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func pool(_ nodes: [WarmMemcachedServer]) -> String { nodes.map(\.address).joined(separator: ",") }

    @Test(arguments: ["ketama", "modula"])
    func eachKeyLandsOnTheNodeLibmemcachedPicks(distribution: String) throws {
        let nodes = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        let origin = try WarmOrigin()
        let keys = (0..<120).map { "product:\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys), "--memcached", pool(nodes), "--distribution", distribution,
            "--origin", origin.base + "/fast/{key}", "--ttl", "300",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warmed      120"))
        let servers = nodes.map { MemcachedServer(host: "127.0.0.1", port: $0.port) }
        var perNode = [0, 0]
        for key in keys {
            let picked = try #require(try MemcachedWarmer.node(
                forKey: key, servers: servers, distribution: distribution == "ketama" ? .ketama : .modula))
            for (i, node) in nodes.enumerated() {
                let found = try node.get(key)
                if node.port == picked.port {
                    #expect(found?.value == "value-of:\(key)", "\(key) is on \(node.address), the node libmemcached picks")
                    perNode[i] += 1
                } else {
                    #expect(found == nil, "\(key) is not on \(node.address)")
                }
            }
        }
        #expect(perNode.allSatisfy { $0 > 20 }, "both nodes hold keys: \(perNode)")
    }

    @Test func ketamaMatchesTheLibketamaContinuum() throws {
        // An independent oracle: the libketama continuum computed in Python (hashlib MD5,
        // 160 points per equal-weight server, 4 per digest), as other ketama clients build it.
        let nodes = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        let keys = (0..<200).map { "k\($0)" }
        let servers = nodes.map { MemcachedServer(host: "127.0.0.1", port: $0.port) }
        let oracle = try WarmTestKit.run(
            "/usr/bin/env",
            ["python3", WarmTestKit.repoRoot.appendingPathComponent("Tests/Support/ketama.py").path, nodes.map(\.address).joined(separator: ",")],
            stdin: keys.joined(separator: "\n") + "\n")
        try #require(oracle.status == 0, "\(oracle.stderr)")
        let expected = oracle.stdout.split(separator: "\n").map(String.init)
        try #require(expected.count == keys.count)
        for (key, want) in zip(keys, expected) {
            #expect(try MemcachedWarmer.node(forKey: key, servers: servers, distribution: .ketama)?.description == want, "\(key)")
        }
    }

    @Test func addLeavesPresentKeysAloneAndOverwriteReplacesThem() throws {
        let nodes = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        let origin = try WarmOrigin()
        let servers = nodes.map { MemcachedServer(host: "127.0.0.1", port: $0.port) }
        func node(_ key: String) throws -> WarmMemcachedServer {
            let picked = try #require(try MemcachedWarmer.node(forKey: key, servers: servers, distribution: .ketama))
            return try #require(nodes.first { $0.port == picked.port })
        }
        try node("a").set("a", "mine", flags: 7)
        try node("c").set("c", "also-mine")
        let keys = ["a", "b", "c", "d"]
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys), "--memcached", pool(nodes), "--origin", origin.base + "/fast/{key}", "--ttl", "300",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try node("a").get("a")?.value == "mine" && node("a").get("a")?.flags == 7)
        #expect(try node("c").get("c")?.value == "also-mine")
        #expect(try node("b").get("b")?.value == "value-of:b")
        let requests = try origin.requests()
        #expect(requests["/fast/a"] == nil && requests["/fast/c"] == nil && requests.count == 2, "present keys are not fetched")
        #expect(result.stderr.contains("present     2"))

        let again = try WarmTestKit.warmset([
            "warm", try manifest(keys), "--memcached", pool(nodes), "--origin", origin.base + "/fast/{key}", "--ttl", "300", "--overwrite",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try node("a").get("a")?.value == "value-of:a")
        #expect(again.stderr.contains("warmed      4"))
    }

    @Test func dryRunChecksAndWritesNothing() throws {
        let node = try WarmMemcachedServer()
        let origin = try WarmOrigin()
        try node.set("x1", "v")
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["x1", "x2", "x3"]), "--memcached", node.address, "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            "--dry-run", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try warmReport(report)
        #expect(json["would_warm"] as? Int == 2 && json["present"] as? Int == 1 && json["warmed"] as? Int == 0)
        #expect(try origin.requests().isEmpty)
        #expect(try node.itemCount() == 1)
    }

    @Test func ttlsUpToThirtyDaysAreRelativeAndLongerOnesBecomeUnixTimes() throws {
        let node = try WarmMemcachedServer()
        let origin = try WarmOrigin()
        let short = try WarmTestKit.warmset([
            "warm", try manifest(["short"]), "--memcached", node.address, "--origin", origin.base + "/fast/{key}", "--ttl", "600",
        ])
        #expect(short.status == 0, "\(short.stderr)")
        let long = try WarmTestKit.warmset([
            "warm", try manifest(["long"]), "--memcached", node.address, "--origin", origin.base + "/fast/{key}", "--ttl", "5184000",
        ])
        #expect(long.status == 0, "\(long.stderr)")
        let forever = try WarmTestKit.warmset([
            "warm", try manifest(["forever"]), "--memcached", node.address, "--origin", origin.base + "/fast/{key}", "--no-ttl",
        ])
        #expect(forever.status == 0, "\(forever.stderr)")
        let s = try #require(try node.ttl("short"))
        let l = try #require(try node.ttl("long"), "a 60-day TTL sent as seconds would be read as a time in 1970 and expire at once")
        #expect(s > 590 && s <= 600)
        // memcached converts a Unix exptime with its own coarse clock (started ~60 s in the past).
        #expect(l > 5_183_800 && l <= 5_184_200, "\(l)")
        #expect(try node.ttl("forever") == -1)
        #expect(MemcachedKey.exptime(ttl: 2_592_000, now: 1_000_000_000) == 2_592_000)
        #expect(MemcachedKey.exptime(ttl: 2_592_001, now: 1_000_000_000) == 1_002_592_001)
        #expect(MemcachedKey.exptime(ttl: nil, now: 1_000_000_000) == 0)
    }

    @Test func longAndInvalidKeysAreSkippedWithTheirReasonOrHashed() throws {
        let node = try WarmMemcachedServer()
        let origin = try WarmOrigin()
        let long = String(repeating: "k", count: 300)
        let dir = try WarmTestKit.temporaryDirectory()
        let jsonl = [
            #"{"rank":1,"key":"ok","count":3,"path":"/fast/ok"}"#,
            #"{"rank":2,"key":"\#(long)","count":2,"path":"/fast/long"}"#,
            #"{"rank":3,"key":"has space","count":1,"path":"/fast/space"}"#,
        ]
        let path = dir.appendingPathComponent("warm.jsonl").path
        try (jsonl.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let report = dir.appendingPathComponent("report.json")
        let skipped = try WarmTestKit.warmset([
            "warm", path, "--memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60", "--report", report.path,
        ])
        #expect(skipped.status == 2, "\(skipped.stderr)")
        let json = try warmReport(report)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["key_too_long": 1, "key_invalid": 1])
        #expect(json["warmed"] as? Int == 1 && json["unaccounted"] as? Int == 0)
        #expect(try origin.requests()["/fast/long"] == nil, "a skipped key is not fetched")
        #expect(try node.itemCount() == 1)

        let hashed = try WarmTestKit.warmset([
            "warm", path, "--memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60", "--long-keys", "hash",
        ])
        #expect(hashed.status == 2, "the key with a space still fails: \(hashed.stderr)")
        #expect(try MemcachedKey.md5Hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(try node.get(try MemcachedKey.md5Hex(Array(long.utf8)))?.value == "value-of:long")
    }

    @Test func valuesOverTheLimitFailAndLargeValuesUnderItAreStored() throws {
        let node = try WarmMemcachedServer(itemSize: "2m")
        let origin = try WarmOrigin()
        let dir = try WarmTestKit.temporaryDirectory()
        let jsonl = [
            #"{"rank":1,"key":"small","count":3,"path":"/big/1000"}"#,
            #"{"rank":2,"key":"large","count":2,"path":"/big/1500000"}"#,
            #"{"rank":3,"key":"huge","count":1,"path":"/big/3000000"}"#,
        ]
        let path = dir.appendingPathComponent("warm.jsonl").path
        try (jsonl.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let report = dir.appendingPathComponent("report.json")
        // Default limit 1 MB: the 1.5 MB and 3 MB values fail before they are sent.
        let defaultLimit = try WarmTestKit.warmset([
            "warm", path, "--memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60", "--report", report.path,
        ])
        #expect(defaultLimit.status == 2)
        #expect((try warmReport(report)["failed_by_reason"] as? [String: Int]) == ["value_too_large": 2])
        #expect(try node.get("small")?.value.count == 1000)
        // Raised limit: the 1.5 MB value is stored; the 3 MB one is refused by memcached (-I 2m).
        let raised = try WarmTestKit.warmset([
            "warm", path, "--memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60", "--max-value-bytes", "4000000",
            "--report", report.path,
        ])
        #expect(raised.status == 2, "\(raised.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 1 && json["present"] as? Int == 1)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["value_too_large": 1])
        #expect(try node.get("large")?.value.count == 1_500_000)
    }

    @Test func aStoppedNodeIsReportedWhileTheOtherIsWarmed() throws {
        let nodes = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        let origin = try WarmOrigin()
        let servers = nodes.map { MemcachedServer(host: "127.0.0.1", port: $0.port) }
        nodes[1].stop()
        let keys = (0..<60).map { "s\($0)" }
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(keys), "--memcached", pool(nodes), "--origin", origin.base + "/fast/{key}", "--ttl", "60",
            // The origin's timeout is loose: on a loaded machine the test origin once took over 2 s for
            // a key (`origin_timeout`), which is not what this test is about.
            "--connect-timeout", "1", "--timeout", "10", "--report", report.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("node_down \(nodes[1].address)"))
        let onLive = try keys.filter { try MemcachedWarmer.node(forKey: $0, servers: servers, distribution: .ketama)?.port == nodes[0].port }
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == onLive.count)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["node_down": keys.count - onLive.count])
        #expect(json["unaccounted"] as? Int == 0)
        for key in onLive { #expect(try nodes[0].get(key)?.value == "value-of:\(key)") }
        #expect(try origin.requests().count == onLive.count, "keys of the dead node are not fetched")
    }

    @Test func aNodeStoppedMidRunFailsOnlyItsKeysAndARerunAfterItsRestartCompletes() throws {
        let nodes = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        let origin = try WarmOrigin()
        let servers = nodes.map { MemcachedServer(host: "127.0.0.1", port: $0.port) }
        let keys = (0..<600).map { "mid\($0)" }
        let onStopped = try Set(keys.filter { try MemcachedWarmer.node(forKey: $0, servers: servers, distribution: .ketama)?.port == nodes[1].port })
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let arguments = [
            "warm", try manifest(keys), "--memcached", pool(nodes), "--origin", origin.base + "/fast/{key}", "--ttl", "600",
            "--rate", "200/s", "--batch", "10", "--connections", "2", "--connect-timeout", "1", "--timeout", "10", "--report", report.path,
        ]
        let stopped = Mutexed(false)
        let stopper = Thread {
            // Stop it during the run, once it holds some of its keys (or after 20 s).
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, ((try? nodes[1].itemCount()) ?? 0) < 20 { Thread.sleep(forTimeInterval: 0.05) }
            nodes[1].stop()
            stopped.set(true)
        }
        stopper.start()
        let first = try WarmTestKit.warmset(arguments)
        let deadline = Date().addingTimeInterval(20)
        while !stopped.isSet && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(first.status == 2, "\(first.stderr)")
        #expect(first.stderr.contains("node_down  e.g. mid"), "\(first.stderr)")
        let json = try warmReport(report)
        let warmed = try #require(json["warmed"] as? Int)
        let failed = try #require(json["failed"] as? Int)
        #expect(warmed + failed + (json["present"] as? Int ?? 0) == keys.count && json["unaccounted"] as? Int == 0, "\(json)")
        let reasons = json["failed_by_reason"] as? [String: Int] ?? [:]
        #expect(!reasons.isEmpty && Set(reasons.keys).isSubset(of: ["node_down", "memcached_error"]), "\(reasons)")
        let failures = try #require(json["failures"] as? [[String: Any]])
        let failedKeys = Set(failures.compactMap { $0["key"] as? String })
        #expect(failedKeys.count == failed && failedKeys.isSubset(of: onStopped), "only the stopped node's keys fail")
        let details = failures.compactMap { $0["detail"] as? String }
        #expect(details.count == failed && details.allSatisfy { $0.hasPrefix(nodes[1].address + ": ") }, "each failure names the node: \(details.prefix(3))")
        #expect(failedKeys.count < onStopped.count, "it was stopped during the run, after some of its keys were written")
        for key in keys where !onStopped.contains(key) { #expect(try nodes[0].get(key)?.value == "value-of:\(key)") }

        // The node comes back empty; a rerun warms its keys and finds the others present.
        try nodes[1].start()
        let second = try WarmTestKit.warmset(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let rerun = try warmReport(report)
        #expect(rerun["warmed"] as? Int == onStopped.count && rerun["present"] as? Int == keys.count - onStopped.count, "\(rerun)")
        #expect(try nodes[1].itemCount() == onStopped.count)
    }

    @Test func copyFromAnotherPoolKeepsValuesAndFlags() throws {
        let source = try WarmMemcachedServer()
        let target = [try WarmMemcachedServer(), try WarmMemcachedServer()]
        try source.set("c1", "one", flags: 3)
        try source.set("c2", "two", flags: 0)
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try manifest(["c1", "c2", "c3"]), "--memcached", pool(target), "--copy-from", "memcached://\(source.address)",
            "--ttl", "120", "--report", report.path,
        ])
        #expect(result.status == 2, "c3 is missing at the source: \(result.stderr)")
        let found = try target.compactMap { try $0.get("c1") }
        #expect(found.count == 1 && found.first?.value == "one" && found.first?.flags == 3)
        #expect(try target.compactMap { try $0.get("c2")?.value } == ["two"])
        #expect((try warmReport(report)["failed_by_reason"] as? [String: Int]) == ["missing_at_source": 1])
        let noTTL = try WarmTestKit.warmset(["warm", try manifest(["c1"]), "--memcached", pool(target), "--copy-from", source.address])
        #expect(noTTL.status == 64 && noTTL.stderr.contains("remaining TTL"))
    }

    /// libmemcached is loaded when a run reaches memcached, not at every start-up (`CMemcached`):
    /// the dynamic loader's own account (`LD_DEBUG=files`) of an analysis without a cache names no
    /// libmemcached, and that of an analysis that warms memcached names it, loaded at run time.
    @Test func libmemcachedIsLoadedOnlyByARunThatReachesMemcached() throws {
        let node = try WarmMemcachedServer()
        let origin = try WarmOrigin()
        let log = try WarmTestKit.temporaryDirectory().appendingPathComponent("access.log")
        let line = #"127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /fast/p1 HTTP/1.1" 200 12 "-" "curl""#
        try (line + "\n").write(to: log, atomically: true, encoding: .utf8)
        let plain = try WarmTestKit.warmset(["analyze", log.path, "-q", "-o", "/dev/null"], environment: ["LD_DEBUG": "files"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("file=libisal"), "LD_DEBUG=files lists the libraries loaded: \(plain.stderr.prefix(500))")
        #expect(!plain.stderr.contains("libmemcached"))
        let warming = try WarmTestKit.warmset(
            ["analyze", log.path, "-q", "-o", "/dev/null", "--warm-memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60"],
            environment: ["LD_DEBUG": "files"])
        #expect(warming.status == 0, "\(warming.stderr)")
        #expect(warming.stderr.contains("file=libmemcached.so.11 [0];  dynamically loaded by"), "\(warming.stderr.prefix(2000))")
        #expect(try node.get("/fast/p1")?.value == "value-of:p1")
    }

    @Test func analyzeWarmsMemcachedAndUsageErrorsAreCaught() throws {
        let node = try WarmMemcachedServer()
        let origin = try WarmOrigin()
        let log = try WarmTestKit.temporaryDirectory().appendingPathComponent("access.log")
        let lines = (0..<30).map { i in
            #"127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /fast/p\#(i % 5) HTTP/1.1" 200 12 "-" "curl""#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let result = try WarmTestKit.warmset([
            "analyze", log.path, "--warm-memcached", node.address, "--origin", origin.base + "{path}", "--ttl", "60",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try node.get("/fast/p3")?.value == "value-of:p3")
        let bad = try WarmTestKit.warmset(["warm", "-", "--memcached", "host:notaport", "--origin", origin.base + "/fast/{key}", "--ttl", "1"])
        #expect(bad.status == 64)
        let both = try WarmTestKit.warmset(["warm", "-", "--memcached", node.address, "--redis", "redis://127.0.0.1:1", "--origin", origin.base + "/{key}", "--ttl", "1"])
        #expect(both.status == 64 && both.stderr.contains("give one cache"))
        let wrong = try WarmTestKit.warmset(["warm", "-", "--redis", "redis://127.0.0.1:1", "--distribution", "modula", "--origin", origin.base + "/{key}", "--ttl", "1"])
        #expect(wrong.status == 64)
    }
}
