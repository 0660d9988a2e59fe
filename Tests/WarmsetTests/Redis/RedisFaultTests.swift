import Foundation
import Testing
import WarmsetRedis
import WarmsetWarm

/// Faults of issue 8 not covered elsewhere: Redis full under `noeviction`.
@Suite("Redis faults", .serialized)
struct RedisFaultTests {
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
