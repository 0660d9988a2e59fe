import Testing
@testable import WarmsetRedis

/// The slot map parsers and redirect replies, on replies shaped as Redis 7.0 sends them.
@Suite("Cluster slot map parsing")
struct ClusterMapTests {
    static func s(_ text: String) -> RedisReply { .string(Array(text.utf8)) }

    @Test func clusterShardsTakesOnlineMasters() {
        let shard: RedisReply = .array([
            Self.s("slots"), .array([.integer(0), .integer(5460), .integer(10923), .integer(10930)]),
            Self.s("nodes"),
            .array([
                .array([Self.s("id"), Self.s("r1"), Self.s("port"), .integer(7003), Self.s("ip"), Self.s("10.0.0.4"), Self.s("role"), Self.s("replica"), Self.s("health"), Self.s("online")]),
                .array([Self.s("id"), Self.s("m1"), Self.s("port"), .integer(7000), Self.s("ip"), Self.s("10.0.0.1"), Self.s("endpoint"), Self.s("10.0.0.1"), Self.s("role"), Self.s("master"), Self.s("health"), Self.s("online")]),
            ]),
        ])
        let ranges = ClusterTopology.parseShards([shard], defaultHost: "seed")
        #expect(ranges.map(\.0) == [0...5460, 10923...10930])
        #expect(ranges.allSatisfy { $0.1 == .tcp(host: "10.0.0.1", port: 7000) })
    }

    @Test func clusterSlotsFallback() {
        let reply: [RedisReply] = [
            .array([.integer(0), .integer(8191), .array([Self.s("127.0.0.1"), .integer(7000), Self.s("id1")])]),
            .array([.integer(8192), .integer(16383), .array([Self.s(""), .integer(7001), Self.s("id2")]), .array([Self.s("127.0.0.1"), .integer(7004)])]),
        ]
        let ranges = ClusterTopology.parseSlots(reply, defaultHost: "seed-host")
        #expect(ranges.count == 2)
        #expect(ranges[0].0 == 0...8191 && ranges[0].1 == .tcp(host: "127.0.0.1", port: 7000))
        #expect(ranges[1].1 == .tcp(host: "seed-host", port: 7001), "an empty host means the seed's")
    }

    @Test func redirects() throws {
        let moved = try #require(Redirect("MOVED 3999 127.0.0.1:6381", defaultHost: .tcp(host: "x", port: 1)))
        #expect(!moved.ask && moved.slot == 3999 && moved.node == .tcp(host: "127.0.0.1", port: 6381))
        let ask = try #require(Redirect("ASK 12 :7002", defaultHost: .tcp(host: "seed", port: 7000)))
        #expect(ask.ask && ask.node == .tcp(host: "seed", port: 7002))
        let v6 = try #require(Redirect("MOVED 1 [::1]:7000", defaultHost: .tcp(host: "x", port: 1)))
        #expect(v6.node == .tcp(host: "::1", port: 7000))
        #expect(Redirect("ERR unknown command", defaultHost: .tcp(host: "x", port: 1)) == nil)
    }

    @Test func respMatchesTheProtocol() {
        let wire = RedisConnection.resp([[Array("SET".utf8), Array("k\r\n".utf8), []]])
        #expect(String(decoding: wire, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n")
        let long = RedisConnection.resp([[Array(repeating: 0x41, count: 1234)]])
        #expect(String(decoding: long.prefix(10), as: UTF8.self) == "*1\r\n$1234\r")
    }

    @Test func errorRepliesAreToldByTheirCode() {
        func kind(_ text: String) -> ReplyErrorKind { Array(text.utf8).withUnsafeBytes { ReplyErrorKind($0) } }
        #expect(kind("BUSYKEY Target key name already exists.") == .busyKey)
        #expect(kind("MOVED 3999 127.0.0.1:6381") == .moved)
        #expect(kind("ASK 12 :7002") == .ask)
        #expect(kind("TRYAGAIN Multiple keys request during rehashing of slot") == .tryAgain)
        #expect(kind("NOPERM this user has no permissions to run the 'set' command") == .noPermission)
        #expect(kind("READONLY You can't write against a read only replica.") == .readOnly)
        #expect(kind("BUSY Redis is busy running a script.") == .other)
        #expect(kind("ERR unknown command") == .other)
        #expect(kind("") == .other)
    }
}
