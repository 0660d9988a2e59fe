import Foundation
import Logging
import Testing
import WarmsetAnalysis
import WarmsetHTTP
import WarmsetMemcached
import WarmsetRedis
import WarmsetWarm
import WarmsetWatch

/// The three warmers behind one protocol, and the watch loop driving a warmer that is not
/// Redis's through it, against a real memcached.
@Suite("Cache warmers through CacheWarmer", .serialized)
struct CacheWarmerTests {
    @Test func theThreeWarmersAreCacheWarmers() throws {
        let redis = RedisWarmSettings(
            target: RedisConnectionSettings(url: try RedisURL.parse("redis://warmer:secret@127.0.0.1:6390/2", environment: [:])),
            source: .copy(RedisConnectionSettings(url: try RedisURL.parse("redis://127.0.0.1:6391", environment: [:]))), ttl: nil)
        let memcached = MemcachedWarmSettings(
            servers: try MemcachedServer.parseList("127.0.0.1:11300,127.0.0.1:11301"),
            source: .copy(try MemcachedServer.parseList("127.0.0.1:11302", option: "--copy-from")), ttl: TTLPolicy(seconds: 60))
        let warmers: [any CacheWarmer] = [
            RedisWarmer(redis), MemcachedWarmer(memcached), HTTPWarmer(HTTPWarmSettings(baseURL: "http://user:pw@127.0.0.1:8089/base")),
        ]
        #expect(
            warmers.map(\.target) == [
                "redis://warmer:***@127.0.0.1:6390/2", "memcached://127.0.0.1:11300,127.0.0.1:11301", "http://user:***@127.0.0.1:8089/base",
            ])
    }

    @Test func watchWarmsMemcachedThroughTheProtocol() throws {
        let source = try WarmMemcachedServer()
        let target = try WarmMemcachedServer()
        defer {
            source.stop()
            target.stop()
        }
        for n in 1...3 { try source.set("/p/\(n)", "value \(n)") }
        let log = try WarmTestKit.temporaryDirectory().appendingPathComponent("access.log").path
        try WatchTestKit.lines([1: 5, 2: 3, 3: 1]).write(toFile: log, atomically: true, encoding: .utf8)

        var configuration = AnalysisConfiguration()
        configuration.inputs = [log]
        configuration.top = 2
        var settings = WatchSettings(interval: 60)
        settings.once = true
        let warmer = MemcachedWarmer(
            MemcachedWarmSettings(
                servers: try MemcachedServer.parseList(target.address),
                source: .copy(try MemcachedServer.parseList(source.address, option: "--copy-from")), ttl: TTLPolicy(seconds: 60)))
        let watcher = try Watcher(
            paths: [log], configuration: configuration, settings: settings, warmer: warmer, signals: WatchSignals(), metrics: WatchMetrics(),
            logger: Logger(label: "test"))
        let outcome = try watcher.run()

        #expect(outcome.cycles == 1)
        let report = try #require(outcome.lastReport)
        #expect(report.target == "memcached://\(target.address)")
        #expect(report.warmed == 2 && report.present == 0 && report.failed == 0, "\(report)")
        #expect(try target.get("/p/1")?.value == "value 1")
        #expect(try target.get("/p/2")?.value == "value 2")
        #expect(try target.get("/p/3") == nil, "only the top 2 are warmed")
    }
}
