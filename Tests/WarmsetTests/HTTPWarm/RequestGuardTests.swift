import Testing
@testable import WarmsetWarm

/// The host guard on its own: which paths are refused, which URLs and redirects are allowed.
@Suite("Request guard")
struct RequestGuardTests {
    @Test(arguments: ["//evil/x", "@evil/x", "http://evil/x", ":81/x", "/../x", "/a/..", "/a/./b", "/a/%2E%2e/b", "/a\\b", "/a b", "/a#b", "x"])
    func unsafePathsAreRefused(path: String) {
        #expect(RequestGuard.unsafePath(path) != nil, "\(path)")
    }

    @Test(arguments: ["/", "/products/7", "/a/b?q=1&r=..", "/search?q=a%20b", "/a..b/c...d"])
    func ordinaryPathsPass(path: String) {
        #expect(RequestGuard.unsafePath(path) == nil, "\(path)")
    }

    /// The byte check of ASCII paths refuses exactly what the plain check on `Character`s and
    /// Foundation refuses, with the same sentence: seeded random paths over the bytes that
    /// matter (`/`, `.`, `%2e`, `%2E`, `?`, letters, a non-ASCII letter, a space).
    @Test("unsafePath agrees with the plain check")
    func unsafePathAgreesWithThePlainCheck() {
        let seed: UInt64 = 20
        var rng = SplitMix(seed: seed)
        let pieces = ["/", "/", ".", ".", "%2e", "%2E", "%2", "%", "e", "?", "a", "é", " ", "/..", "/.", "2"]
        var paths = ["/", "/.", "/..", "/...", "/%2e", "/%2E%2e", "/%2e%2e%2e", "/a/%2e./b", "/a/.%2E?", "/a?/..", "/a/..?", "/%2", "/%2e%", "/é/.."]
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 8) + 1
            paths.append((Int(rng.next() % 3) == 0 ? "" : "/") + (0..<length).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined())
        }
        for path in paths {
            #expect(RequestGuard.unsafePath(path) == RequestGuard.unsafePathPlain(path), "path '\(path)', seed \(seed)")
        }
    }

    @Test func urlsAndRedirectsStayOnTheHost() throws {
        let guardian = try RequestGuard(url: "https://Shop.Example.com/base", option: "--http")
        #expect(guardian.port == 443 && guardian.host == "shop.example.com")
        #expect(guardian.allows("https://shop.example.com:443/p"))
        #expect(!guardian.allows("http://shop.example.com/p"))
        #expect(!guardian.allows("https://shop.example.com:8443/p"))
        #expect(!guardian.allows("https://user@shop.example.com/p"))
        #expect(!guardian.allows("https://shop.example.com@evil.example/p"))
        #expect(guardian.redirectTarget("/other", from: "https://shop.example.com/p") == "https://shop.example.com/other")
        #expect(guardian.redirectTarget("//evil.example/x", from: "https://shop.example.com/p") == nil)
        #expect(guardian.redirectTarget("https://evil.example/x", from: "https://shop.example.com/p") == nil)
        #expect(throws: WarmError.self) { try RequestGuard(url: "ftp://x/", option: "--http") }
        #expect(throws: WarmError.self) { try OriginTemplate("http://{1}.internal/p") }
        #expect(try OriginTemplate("http://app:8080{path}").requestGuard.port == 8080)
    }
}
