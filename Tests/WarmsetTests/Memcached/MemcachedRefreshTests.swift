import Foundation
import Testing
import WarmsetMemcached
import WarmsetModel
import WarmsetWarm

/// `MemcachedWarmSettings.refreshBelowSeconds`: the pipelined `mg KEY t` check, over more keys
/// than one pipeline window (512), against a real memcached, checked with memcached's own `mg`.
@Suite("memcached refresh-ahead", .serialized)
struct MemcachedRefreshTests {
    @Test func pipelinedTTLCheckOverSeveralWindows() throws {
        let source = try WarmMemcachedServer()
        let target = try WarmMemcachedServer()
        defer {
            source.stop()
            target.stop()
        }
        let keys = (0..<1300).map { "k:\($0)" }
        // Values at the source, written without replies, then one command that answers.
        let sets = keys.map { "set \($0) 0 0 1 noreply\r\nx\r\n" }.joined()
        #expect(try source.command(sets + "version\r\n").hasPrefix("VERSION"))
        #expect(try source.itemCount() == keys.count)

        func warm(refreshBelow: Double) throws -> WarmReport {
            var settings = MemcachedWarmSettings(
                servers: try MemcachedServer.parseList(target.address),
                source: .copy(try MemcachedServer.parseList(source.address, option: "--copy-from")), ttl: TTLPolicy(seconds: 60))
            settings.batchSize = keys.count  // one batch: three windows of mg
            settings.connections = 1
            settings.refreshBelowSeconds = refreshBelow
            return try MemcachedWarmer(settings).warm(WarmPlan(keys.map { WarmEntry(key: $0) }), progress: nil)
        }

        let first = try warm(refreshBelow: 12)
        #expect(first.warmed == keys.count && first.failed == 0 && first.counters["refreshed"] == nil, "\(first)")
        let second = try warm(refreshBelow: 12)
        #expect(second.present == keys.count && second.warmed == 0, "every key has 60 s of 60 left: \(second)")
        // Below 61 s of TTL left: every key is refreshed (rewritten with set).
        let third = try warm(refreshBelow: 61)
        #expect(third.warmed == keys.count && third.counters["refreshed"] == keys.count, "\(third)")
        // One key with 3 s left and one without a TTL, among the rest with 60 s.
        try target.set("k:700", "y", exptime: 3)
        try target.set("k:701", "y", exptime: 0)
        let fourth = try warm(refreshBelow: 12)
        #expect(fourth.warmed == 1 && fourth.counters["refreshed"] == 1 && fourth.present == keys.count - 1, "\(fourth)")
        #expect(try target.get("k:700")?.value == "x" && (55...60).contains(try target.ttl("k:700") ?? 0))
        #expect(try target.get("k:701")?.value == "y" && target.ttl("k:701") == -1)
    }
}
