import Foundation
import Testing
import WarmsetWarm

/// Tests/Support/cache.py: an HTTP server with its own cache that counts hits and misses.
final class WarmCacheServer: Sendable {
    private let server: PythonServer

    init(other: String? = nil) throws {
        server = try PythonServer([WarmTestKit.repoRoot.appendingPathComponent("Tests/Support/cache.py").path] + (other.map { [$0] } ?? []))
    }

    var port: Int { server.port }
    var base: String { server.base }

    /// GET `path` (through python3, as WarmOrigin does) and return the X-Cache header.
    func xcache(_ path: String) throws -> String {
        let fetch = try WarmTestKit.run(
            "/usr/bin/env", ["python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).headers.get('X-Cache'))", base + path])
        return fetch.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stats() throws -> [String: Any] { try server.json("/stats") }

    /// The requests seen, in order: (path, method, monotonic seconds).
    func requests() throws -> [(path: String, method: String, t: Double)] {
        let list = try stats()["requests"] as? [[String: Any]] ?? []
        return list.map { ($0["path"] as? String ?? "", $0["method"] as? String ?? "", $0["t"] as? Double ?? 0) }
    }
}

/// `warmset warm --http` and `analyze --warm-http` against cache.py, through the built binary.
@Suite("Warm HTTP caches", .serialized)
struct HTTPWarmTests {
    func jsonl(_ paths: [String], name: String = "warm.jsonl") throws -> String {
        let lines = paths.enumerated().map { i, p in
            let key = p.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return #"{"rank":\#(i + 1),"key":"k\#(i)","count":\#(100 - i),"path":"\#(key)"}"#
        }
        let path = try WarmTestKit.temporaryDirectory().appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func afterWarmingTheTopPathsAreHits() throws {
        let server = try WarmCacheServer()
        let paths = (0..<40).map { "/products/\($0)" }
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        #expect(try server.xcache("/products/cold") == "MISS")
        let result = try WarmTestKit.warmset(["warm", try jsonl(paths), "--http", server.base + "/", "--report", report.path])
        #expect(result.status == 0, "\(result.stderr)")
        for path in paths.prefix(10) { #expect(try server.xcache(path) == "HIT", "\(path) is cached after the warm-up") }
        let stats = try server.stats()
        #expect((stats["misses"] as? [String: Int])?.count == 41, "each path missed once: by warmset (and /products/cold)")
        #expect(try server.requests().filter { $0.path.hasPrefix("/products/") && $0.path != "/products/cold" }.allSatisfy { $0.method == "GET" })
        #expect((stats["user_agents"] as? [String])?.contains("warmset/0.1.0") == true)
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 40 && json["unaccounted"] as? Int == 0)
        let http = try #require(json["http"] as? [String: Any])
        #expect((http["status_counts"] as? [String: Int]) == ["200": 40])
        #expect(http["bytes_received"] as? Int == paths.reduce(0) { $0 + "page:\($1)".utf8.count })
        let p50 = try #require(http["latency_p50_ms"] as? Double)
        let p99 = try #require(http["latency_p99_ms"] as? Double)
        let max = try #require(http["latency_max_ms"] as? Double)
        #expect(p50 > 0 && p50 <= p99 && p99 <= max * 1.001)
        #expect(result.stderr.contains("latency     p50"))
        #expect(result.stderr.contains("200 40"))
    }

    @Test func headAndHeadersAndAKeysManifest() throws {
        let server = try WarmCacheServer()
        let keys = try WarmTestKit.temporaryDirectory().appendingPathComponent("warm.keys")
        try "/a\n/b\nnot-a-path\n".write(to: keys, atomically: true, encoding: .utf8)
        let result = try WarmTestKit.warmset([
            "warm", keys.path, "--http", server.base, "--method", "HEAD", "--header", "User-Agent: warmer-test",
        ])
        #expect(result.status == 2, "the key that is not a path fails: \(result.stderr)")
        let requests = try server.requests()
        #expect(requests.map(\.path).sorted() == ["/a", "/b"] && requests.allSatisfy { $0.method == "HEAD" })
        #expect((try server.stats()["user_agents"] as? [String]) == ["warmer-test"])
        #expect(result.stderr.contains("no_path"))
    }

    @Test func theRateLimitHoldsWithinTenPercent() throws {
        let server = try WarmCacheServer()
        let paths = (0..<70).map { "/r/\($0)" }
        let result = try WarmTestKit.warmset(["warm", try jsonl(paths), "--http", server.base, "--rate", "20/s", "--concurrency", "8"])
        #expect(result.status == 0, "\(result.stderr)")
        let times = try server.requests().map(\.t).sorted()
        try #require(times.count == 70)
        // From the 10th request on, past the bucket's initial burst.
        let achieved = Double(times.count - 10) / (times[times.count - 1] - times[9])
        // Under ThreadSanitizer the client itself is slow enough to lag the bucket a little.
        #expect(abs(achieved - 20) / 20 <= (TestSupport.isThreadSanitized ? 0.2 : 0.10), "achieved \(achieved) requests/s at --rate 20/s")
    }

    @Test func status429And503AreBackedOffWithRetryAfter() throws {
        let server = try WarmCacheServer()
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let started = Date()
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(["/limited/a", "/unavailable/b", "/ok", "/missing/c"]), "--http", server.base, "--report", report.path,
        ])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 2, "the 404 fails: \(result.stderr)")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 3)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["http_404": 1])
        #expect((json["counters"] as? [String: Int])?["retries"] == 2)
        let http = try #require(json["http"] as? [String: Any])
        #expect((http["status_counts"] as? [String: Int]) == ["200": 3, "404": 1, "429": 1, "503": 1])
        let requests = try server.requests()
        for path in ["/limited/a", "/unavailable/b"] {
            let t = requests.filter { $0.path == path }.map(\.t)
            try #require(t.count == 2, "\(path) retried once")
            #expect(t[1] - t[0] >= 0.95, "\(path): Retry-After: 1 was honoured (\(t[1] - t[0]) s)")
        }
        #expect(elapsed >= 1.0)
    }

    @Test func maxFailuresStopsTheRunAndEveryKeyIsCounted() throws {
        let server = try WarmCacheServer()
        let paths = (0..<40).map { "/missing/\($0)" }
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", server.base, "--max-failures", "3", "--concurrency", "1", "--report", report.path,
        ])
        #expect(result.status == 1, "stopped early: exit 1; \(result.stderr)")
        let json = try warmReport(report)
        #expect(json["stopped_early"] as? Bool == true && json["failed"] as? Int == 40 && json["unaccounted"] as? Int == 0)
        #expect(((json["failed_by_reason"] as? [String: Int])?["not_attempted"] ?? 0) > 0)
        #expect(try server.requests().count < 40)
    }

    @Test func requestsNeverLeaveTheConfiguredHost() throws {
        let evil = try WarmCacheServer()
        let server = try WarmCacheServer(other: evil.base)
        let evilHost = "127.0.0.1:\(evil.port)"
        let hostile = [
            "//\(evilHost)/x", "@\(evilHost)/x", "http://\(evilHost)/x", "/../x", "/a/%2e%2e/x", "/a/..", "/a\\..\\x",
            ":\(evil.port)/x", "/redirect-away", "/fine",
        ]
        let report = try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json")
        let plain = try WarmTestKit.warmset(["warm", try jsonl(hostile), "--http", server.base, "--report", report.path])
        #expect(plain.status == 2)
        var json = try warmReport(report)
        #expect(json["warmed"] as? Int == 2, "/fine and /redirect-away (its 302, not followed)")
        #expect((json["failed_by_reason"] as? [String: Int])?["path_unsafe"] == 8)
        let followed = try WarmTestKit.warmset([
            "warm", try jsonl(["/redirect-away", "/redirect-here"]), "--http", server.base, "--follow-redirects", "--report", report.path,
        ])
        #expect(followed.status == 2)
        json = try warmReport(report)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["redirect_off_host": 1])
        #expect(try server.requests().contains { $0.path == "/landing" }, "a redirect on the same host is followed")
        #expect(try evil.requests().isEmpty, "nothing reached the other host")

        // The same guard holds for --origin {path} (the shared fetcher).
        let redis = try WarmRedisServer()
        let origin = try WarmCacheServer(other: evil.base)
        let viaOrigin = try WarmTestKit.warmset([
            "warm", try jsonl(hostile), "--redis", redis.urlString(), "--origin", origin.base + "{path}", "--ttl", "60",
            "--report", report.path,
        ])
        #expect(viaOrigin.status == 2)
        json = try warmReport(report)
        #expect((json["failed_by_reason"] as? [String: Int])?["path_unsafe"] == 8)
        #expect((json["failed_by_reason"] as? [String: Int])?["origin_redirect_off_host"] == 1)
        #expect(try evil.requests().isEmpty, "nothing reached the other host through --origin either")
        let placeholderHost = try WarmTestKit.warmset(["warm", "-", "--redis", redis.urlString(), "--origin", "http://{1}.internal/x", "--ttl", "1"])
        #expect(placeholderHost.status == 64)
    }

    @Test func analyzeWarmsHTTPAndWritesURLs() throws {
        let server = try WarmCacheServer()
        let log = try WarmTestKit.temporaryDirectory().appendingPathComponent("access.log")
        let lines = (0..<40).map { i in
            #"127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /p/\#(i % 4)?utm=x HTTP/1.1" 200 12 "-" "curl""#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let result = try WarmTestKit.warmset(["analyze", log.path, "--warm-http", server.base, "--concurrency", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        for i in 0..<4 { #expect(try server.xcache("/p/\(i)") == "HIT") }
        let misuse = try WarmTestKit.warmset(["warm", "-", "--http", server.base, "--ttl", "5"])
        #expect(misuse.status == 64 && misuse.stderr.contains("do not apply to --http"))
    }
}
