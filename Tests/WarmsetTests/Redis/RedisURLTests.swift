import Testing
import WarmsetRedis
import WarmsetWarm

@Suite("Redis URLs and redaction")
struct RedisURLTests {
    @Test func fullURL() throws {
        let url = try RedisURL.parse("redis://warmer:s3cret@10.0.0.5:6380/2", environment: [:])
        #expect(url.endpoint == .tcp(host: "10.0.0.5", port: 6380))
        #expect(url.user == "warmer")
        #expect(url.password == "s3cret")
        #expect(url.database == 2)
        #expect(url.description == "redis://warmer:***@10.0.0.5:6380/2")
        #expect(!url.description.contains("s3cret"))
    }

    @Test func defaultsAndPasswordOnly() throws {
        let url = try RedisURL.parse("redis://cache", environment: [:])
        #expect(url.endpoint == .tcp(host: "cache", port: 6379))
        #expect(url.user == nil && url.password == nil && url.database == 0)
        let passwordOnly = try RedisURL.parse("redis://:pw@cache:7000", environment: [:])
        #expect(passwordOnly.user == nil && passwordOnly.password == "pw")
        #expect(passwordOnly.description == "redis://:***@cache:7000/0")
    }

    @Test func ipv6AndPercentEscapes() throws {
        let url = try RedisURL.parse("redis://u:p%40ss@[::1]:6390/1", environment: [:])
        #expect(url.endpoint == .tcp(host: "::1", port: 6390))
        #expect(url.password == "p@ss")
        #expect(url.description == "redis://u:***@[::1]:6390/1")
    }

    @Test func unixSocket() throws {
        let url = try RedisURL.parse("unix:///run/redis/redis.sock?db=3", environment: [:])
        #expect(url.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(url.database == 3)
        #expect(url.description == "unix:///run/redis/redis.sock?db=3")
    }

    @Test func passwordFromEnvironment() throws {
        let url = try RedisURL.parse("redis://warmer@cache:6379", environment: ["REDISCLI_AUTH": "fromenv"])
        #expect(url.user == "warmer" && url.password == "fromenv")
        #expect(!url.description.contains("fromenv"))
        let explicit = try RedisURL.parse("redis://warmer:inurl@cache", environment: ["REDISCLI_AUTH": "fromenv"])
        #expect(explicit.password == "inurl")
    }

    @Test func tlsURLsParseAndStayRedacted() throws {
        let url = try RedisURL.parse("rediss://user:topsecret@cache:6380", environment: [:])
        #expect(url.tls)
        #expect(url.password == "topsecret")
        #expect(url.description == "rediss://user:***@cache:6380/0")
        let plain = try RedisURL.parse("redis://cache:6379", environment: [:])
        #expect(!plain.tls)
    }

    @Test func sentinelURLs() throws {
        let url = try RedisURL.parse("redis-sentinel://warmer:s3cret@s1:26380,[::1],s3/2#mymaster", environment: [:])
        #expect(url.sentinel?.master == "mymaster")
        #expect(url.sentinel?.nodes == [.tcp(host: "s1", port: 26380), .tcp(host: "::1", port: 26379), .tcp(host: "s3", port: 26379)])
        #expect(url.user == "warmer" && url.password == "s3cret" && url.database == 2 && !url.tls)
        #expect(url.endpoint == .tcp(host: "s1", port: 26380))
        #expect(url.description == "redis-sentinel://warmer:***@s1:26380,[::1]:26379,s3:26379/2#mymaster")
        let plain = try RedisURL.parse("redis-sentinel://127.0.0.1:5000#m", environment: [:])
        #expect(plain.sentinel?.nodes == [.tcp(host: "127.0.0.1", port: 5000)] && plain.database == 0)
    }

    @Test(arguments: ["redis-sentinel://s1:26379", "redis-sentinel://s1:26379#", "redis-sentinel://s1,,s2#m", "redis-sentinel://s1:x#m",
                      "redis-sentinel://s1/db#m"])
    func badSentinelURLs(_ text: String) {
        #expect {
            _ = try RedisURL.parse(text, environment: [:])
        } throws: { error in
            (error as? RedisError)?.kind == .url
        }
    }

    @Test(arguments: ["http://cache", "redis://cache:notaport", "redis://cache:70000", "redis://cache/x", "unix://relative.sock"])
    func badURLs(_ text: String) {
        #expect(throws: RedisError.self) { _ = try RedisURL.parse(text, environment: [:]) }
    }

    @Test func originTemplateErrorsAreRedacted() {
        #expect {
            _ = try OriginTemplate("http://user:hunter2@api/{nope}")
        } throws: { error in
            let text = String(describing: error)
            return !text.contains("hunter2") && text.contains("user:***@api")
        }
    }

    @Test func redactionOfAnyURL() {
        #expect(Redaction.url("redis://user:secret@host:1/0") == "redis://user:***@host:1/0")
        #expect(Redaction.url("http://a:b@origin/x?y=1") == "http://a:***@origin/x?y=1")
        #expect(Redaction.url("http://origin/p@x") == "http://origin/p@x")
        #expect(Redaction.url("redis://host") == "redis://host")
    }

    @Test func clusterSlotsMatchRedis() {
        // Values from CLUSTER KEYSLOT on redis-server 7.0.
        #expect(ClusterSlot.of("foo") == 12182)
        #expect(ClusterSlot.of("bar") == 5061)
        #expect(ClusterSlot.of("{user1000}.following") == ClusterSlot.of("{user1000}.followers"))
        #expect(ClusterSlot.of("{}x") == ClusterSlot.of("{}x"))
        #expect(ClusterSlot.of("foo{}{bar}") != ClusterSlot.of("bar"))  // empty tag: whole key hashed
        #expect(ClusterSlot.of("foo{{bar}}zap") == ClusterSlot.of("{bar"))
    }
}
