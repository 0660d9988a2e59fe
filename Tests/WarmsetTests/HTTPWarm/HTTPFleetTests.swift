import Foundation
import Testing
import WarmsetHTTP
import WarmsetModel
import WarmsetWarm

/// `warmset warm --http URL --http-node … --variant … --verify` against real nginx
/// `proxy_cache` nodes (NginxFleet), through the built binary.
@Suite("Warm HTTP cache fleets", .serialized)
struct HTTPFleetTests {
    func jsonl(_ paths: [String]) throws -> String {
        let lines = paths.enumerated().map { i, p in #"{"rank":\#(i + 1),"key":"k\#(i)","count":\#(1000 - i),"path":"\#(p)"}"# }
        let path = try WarmTestKit.temporaryDirectory().appendingPathComponent("warm.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func reportFile() throws -> URL { try WarmTestKit.temporaryDirectory().appendingPathComponent("report.json") }

    func nodes(_ json: [String: Any]) throws -> [[String: Any]] {
        let http = try #require(json["http"] as? [String: Any])
        return try #require(http["nodes"] as? [[String: Any]])
    }

    @Test func everyNodeHoldsEveryKeyAndVerifySaysAllHits() throws {
        let fleet = try NginxFleet(nodes: 2)
        let paths = (0..<20).map { "/products/\($0)" }
        let report = try reportFile()
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", fleet.base(), "--http-node", fleet.nodes[0], "--http-node", fleet.nodes[1], "--verify",
            "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for node in 0..<2 { #expect(fleet.cachedFiles(node: node) == 20, "node \(node) caches every key") }
        for port in fleet.nodePorts {
            for path in ["/products/0", "/products/19"] { #expect(try fleet.get(port: port, path: path) == (200, "HIT")) }
        }
        #expect(fleet.originRequests() == 40, "each node missed each key once")
        let logged = try fleet.nodeRequests()
        #expect(logged.allSatisfy { $0.host == "shop.test" }, "the base URL's Host reached every node")
        #expect(Set(logged.map(\.port)) == Set(fleet.nodePorts))

        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 20 && json["failed"] as? Int == 0)
        let http = try #require(json["http"] as? [String: Any])
        #expect((http["cache_status"] as? [String: Int]) == ["miss": 40], "the warm-up's responses; --verify's are counted apart")
        #expect((http["status_counts"] as? [String: Int]) == ["200": 40])
        let perNode = try nodes(json)
        #expect(perNode.map { $0["node"] as? String } == fleet.nodes)
        for node in perNode {
            #expect(node["requests"] as? Int == 20 && node["ok"] as? Int == 20 && node["failed"] as? Int == 0)
            #expect((node["status_counts"] as? [String: Int]) == ["200": 20])
            #expect((node["cache_status"] as? [String: Int]) == ["miss": 20])
        }
        let verify = try #require(http["verify"] as? [String: Any])
        #expect(verify["keys"] as? Int == 20 && verify["requests"] as? Int == 40 && verify["hits"] as? Int == 40)
        #expect(verify["hit_share"] as? Double == 1.0)
        #expect(result.stderr.contains("verify      20 keys again, 40 requests: 100.0% hits"), "\(result.stderr)")
        #expect(result.stderr.contains("node        \(fleet.nodes[1]): 20 requests, 20 ok, 0 failed"))
        #expect(result.stderr.contains("cache       miss 40 (from X-Cache-Status"))
    }

    @Test func eachVariantIsCachedOnEachNode() throws {
        let fleet = try NginxFleet(nodes: 2, varyOnEncoding: true)
        let paths = (0..<10).map { "/v/\($0)" }
        let report = try reportFile()
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", fleet.base(), "--http-node", fleet.nodes[0], "--http-node", fleet.nodes[1],
            "--variant", "Accept-Encoding: br", "--variant", "Accept-Encoding: gzip", "--header", "Accept-Encoding: identity",
            "--verify", "--verify-sample", "3", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for node in 0..<2 { #expect(fleet.cachedFiles(node: node) == 20, "node \(node) caches both variants of every key") }
        let warmRequests = try fleet.nodeRequests().filter { ["br", "gzip", "identity"].contains($0.encoding) }
        #expect(Dictionary(grouping: warmRequests, by: \.encoding).mapValues(\.count) == ["br": 26, "gzip": 26], "a variant replaces --header's")
        for port in fleet.nodePorts {
            #expect(try fleet.get(port: port, path: "/v/3", encoding: "br") == (200, "HIT"))
            #expect(try fleet.get(port: port, path: "/v/3", encoding: "gzip") == (200, "HIT"))
            #expect(try fleet.get(port: port, path: "/v/3", encoding: "deflate") == (200, "MISS"), "a variant not asked for is not warmed")
        }
        let json = try warmReport(report)
        for node in try nodes(json) { #expect(node["requests"] as? Int == 20 && node["ok"] as? Int == 20) }
        let verify = try #require((json["http"] as? [String: Any])?["verify"] as? [String: Any])
        #expect(verify["keys"] as? Int == 3 && verify["requests"] as? Int == 12 && verify["hits"] as? Int == 12)
    }

    @Test func aNodeThatIsDownFailsItsKeysNamingNodeAndVariant() throws {
        let fleet = try NginxFleet(nodes: 1)
        let down = "127.0.0.1:\(try WarmTestKit.freePort())"
        let paths = (0..<6).map { "/d/\($0)" }
        let report = try reportFile()
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", fleet.base(), "--http-node", fleet.nodes[0], "--http-node", down,
            "--variant", "Accept-Encoding: br", "--connect-timeout", "2", "--report", report.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(fleet.cachedFiles(node: 0) == 6, "the node that is up is warmed")
        let json = try warmReport(report)
        #expect(json["warmed"] as? Int == 0 && json["failed"] as? Int == 6)
        #expect((json["failed_by_reason"] as? [String: Int]) == ["http_error": 6])
        let failures = try #require(json["failures"] as? [[String: Any]])
        #expect(failures.allSatisfy { ($0["detail"] as? String)?.hasPrefix("node \(down), variant 'Accept-Encoding: br': GET ") == true && ($0["detail"] as? String)?.contains("failed: Connection refused") == true }, "\(failures)")
        let perNode = try nodes(json)
        #expect(perNode[0]["ok"] as? Int == 6 && perNode[0]["failed"] as? Int == 0)
        #expect(perNode[1]["ok"] as? Int == 0 && perNode[1]["failed"] as? Int == 6)
        #expect(result.stderr.contains("e.g. k"), "the summary shows an example failure")
    }

    @Test func aRedirectIsFollowedOnTheSameNode() throws {
        let fleet = try NginxFleet(nodes: 2)
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(["/moved"]), "--http", fleet.base(), "--http-node", fleet.nodes[0], "--http-node", fleet.nodes[1],
            "--follow-redirects",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let landed = try fleet.nodeRequests().filter { $0.uri == "/landing" }
        #expect(landed.map(\.port).sorted() == fleet.nodePorts.sorted(), "each node's redirect was followed on that node")
        for node in 0..<2 { #expect(fleet.cachedFiles(node: node) == 1) }
    }

    /// In process: the nodes of an https fleet get the base URL's name as TLS server name and
    /// Host, and its certificate is checked against that name, not the node's address.
    @Test func httpsNodesGetTheBaseNameAsServerNameAndHost() throws {
        let fleet = try NginxFleet(nodes: 2, tls: true)
        func warm(_ baseURL: String) throws -> WarmReport {
            var settings = HTTPWarmSettings(baseURL: baseURL)
            settings.nodes = try fleet.nodes.map { try HTTPNode($0) }
            settings.trustRootsFile = fleet.directory.appendingPathComponent("cert.pem").path
            // async-http-client retries a failed handshake until the connect timeout.
            settings.connectTimeout = 1
            return try HTTPWarmer(settings).warm(WarmPlan((0..<5).map { WarmEntry(key: "/s/\($0)") }), progress: nil)
        }
        let report = try warm("https://shop.test:\(fleet.nodePorts[0])")
        #expect(report.warmed == 5, "\(report.failures)")
        let logged = try fleet.nodeRequests()
        #expect(logged.count == 10 && logged.allSatisfy { $0.sni == "shop.test" && $0.host == "shop.test" }, "\(logged)")
        for node in 0..<2 { #expect(fleet.cachedFiles(node: node) == 5) }

        let wrongName = try warm("https://other.test:\(fleet.nodePorts[0])")
        #expect(wrongName.warmed == 0 && wrongName.failedByReason == ["http_error": 5], "a certificate for shop.test does not pass for other.test")
        #expect(try fleet.nodeRequests().count == 10, "no request was sent over a connection whose certificate failed")
    }

    /// `--tls-ca` on the command line: an https fleet (`--http`) and an https `--origin` are
    /// verified against the test's own CA; without it the system's roots refuse both, key by
    /// key; `--tls-cert` with no rediss:// URL is a usage error.
    @Test func tlsCATrustsHTTPSCachesAndOrigins() throws {
        let fleet = try NginxFleet(nodes: 2, tls: true)
        let ca = fleet.directory.appendingPathComponent("cert.pem").path
        let keys = try jsonl((0..<5).map { "/t/\($0)" })
        let http = ["warm", keys, "--http", "https://shop.test:\(fleet.nodePorts[0])", "--http-node", fleet.nodes[0], "--http-node", fleet.nodes[1]]
        let trusted = try WarmTestKit.warmset(http + ["--tls-ca", ca])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        for node in 0..<2 { #expect(fleet.cachedFiles(node: node) == 5) }
        let report = try reportFile()
        let requestsBefore = try fleet.nodeRequests().count
        let untrusted = try WarmTestKit.warmset(http + ["--report", report.path])
        #expect(untrusted.status == 2, "\(untrusted.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        #expect((json["failed_by_reason"] as? [String: Int]) == ["http_error": 5], "\(json)")
        let detail = (json["failures"] as? [[String: Any]])?.first?["detail"] as? String ?? ""
        #expect(detail.contains("the server's certificate is not trusted") && detail.contains("--tls-ca") && !detail.contains(" at /"), "\(detail)")
        #expect(try fleet.nodeRequests().count == requestsBefore, "nothing was requested over an untrusted connection")

        let otherName = try WarmTestKit.warmset(
            ["warm", keys, "--http", "https://other.test:\(fleet.nodePorts[0])", "--http-node", fleet.nodes[0], "--tls-ca", ca, "--report", report.path])
        #expect(otherName.status == 2)
        let otherJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        let otherDetail = (otherJSON["failures"] as? [[String: Any]])?.first?["detail"] as? String ?? ""
        #expect(otherDetail.contains("the server's certificate is not for this host name"), "\(otherDetail)")

        let redis = try WarmRedisServer()
        let origin = try ["warm", keys, "--redis", redis.urlString(), "--origin", "https://127.0.0.1:\(#require(fleet.originTLSPort))/o/{key}", "--ttl", "60"]
        let originCA = fleet.directory.appendingPathComponent("origin-cert.pem").path
        let fetched = try WarmTestKit.warmset(origin + ["--tls-ca", originCA])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try redis.command(["GET", "k3"]).first?.textValue == "page /o/k3 \n", "the value is the https origin's body")
        _ = try redis.command(["FLUSHALL"])
        let refused = try WarmTestKit.warmset(origin + ["--report", report.path])
        #expect(refused.status == 2, "\(refused.stderr)")
        let refusedJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        #expect((refusedJSON["failed_by_reason"] as? [String: Int]) == ["origin_error": 5], "\(refusedJSON)")
        #expect(try redis.command(["DBSIZE"]).first?.intValue == 0)

        let misuse = try WarmTestKit.warmset(http + ["--tls-ca", ca, "--tls-cert", ca])
        #expect(misuse.status == 64 && misuse.stderr.contains("for an https:// origin or cache only --tls-ca applies"), "\(misuse.stderr)")
    }

    @Test func oneRateLimitCoversEveryNodeAndVariant() throws {
        let fleet = try NginxFleet(nodes: 2, varyOnEncoding: true)
        let paths = (0..<15).map { "/r/\($0)" }
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", fleet.base(), "--http-node", fleet.nodes[0], "--http-node", fleet.nodes[1],
            "--variant", "Accept-Encoding: br", "--variant", "Accept-Encoding: gzip", "--rate", "20/s", "--concurrency", "8",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let times = try fleet.nodeRequests().map(\.t).sorted()
        try #require(times.count == 60, "15 keys × 2 nodes × 2 variants")
        let achieved = Double(times.count - 10) / (times[times.count - 1] - times[9])
        #expect(abs(achieved - 20) / 20 <= (TestSupport.isThreadSanitized ? 0.2 : 0.1), "achieved \(achieved) requests/s at --rate 20/s over all nodes")
    }

    @Test func cacheStatusIsReadFromEachHeader() throws {
        let fleet = try NginxFleet(nodes: 0)
        let report = try reportFile()
        let paths = ["/cf/1", "/age/1", "/fresh/1", "/xc/1", "/bypass/1", "/plain/1", "/plain/2"]
        let result = try WarmTestKit.warmset([
            "warm", try jsonl(paths), "--http", "http://127.0.0.1:\(fleet.originPort)", "--verify", "--report", report.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let http = try #require(try warmReport(report)["http"] as? [String: Any])
        #expect((http["cache_status"] as? [String: Int]) == ["hit": 2, "miss": 2, "bypass": 1, "unknown": 2])
        #expect(http["nodes"] == nil, "no per-node counts without --http-node")
        let verify = try #require(http["verify"] as? [String: Any])
        #expect(verify["hits"] as? Int == 2 && verify["misses"] as? Int == 2 && verify["other"] as? Int == 1 && verify["unknown"] as? Int == 2)

        // An origin that tells nothing: the summary says so instead of a share of hits.
        let silent = try WarmTestKit.warmset(["warm", try jsonl(["/plain/3", "/plain/4"]), "--http", "http://127.0.0.1:\(fleet.originPort)", "--verify"])
        #expect(silent.status == 0)
        #expect(silent.stderr.contains("cache       unknown 2 (no X-Cache-Status, X-Cache, CF-Cache-Status or Age header"), "\(silent.stderr)")
        #expect(silent.stderr.contains("verify      2 keys again, 2 requests: hits cannot be told"), "\(silent.stderr)")
    }

    @Test(arguments: [
        ["--http-node", "no-port"], ["--http-node", "host:0"], ["--http-node", "a:1", "--http-node", "a:1"], ["--variant", "no colon"],
        ["--verify-sample", "5"], ["--verify", "--verify-sample", "0"],
    ])
    func badFleetOptionsAreUsageErrors(_ arguments: [String]) throws {
        let result = try WarmTestKit.warmset(["warm", "-", "--http", "http://shop.test"] + arguments, stdin: "/a\n")
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count <= 3, "one clear sentence: \(result.stderr)")
    }
}
