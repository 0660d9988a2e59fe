import WarmsetModel
import Foundation
import Testing
import WarmsetEmit
import WarmsetSketch

/// `warmset analyze --output-format urls --base-url …`: one absolute URL per line.
@Suite("URLs output")
struct URLsOutputTests {
    @Test func analyzeWritesOneAbsoluteURLPerLineInRankOrder() throws {
        let log = try WarmTestKit.temporaryDirectory().appendingPathComponent("access.log")
        var lines: [String] = []
        for (path, n) in [("/products/7?utm=a", 5), ("/products/9", 3), ("/cart", 1)] {
            lines += Array(repeating: #"127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET \#(path) HTTP/1.1" 200 12 "-" "curl""#, count: n)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let result = try WarmTestKit.warmset(["analyze", log.path, "--output-format", "urls", "--base-url", "https://shop.example.com/", "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "https://shop.example.com/products/7\nhttps://shop.example.com/products/9\nhttps://shop.example.com/cart\n")
        let rules = try WarmTestKit.warmset([
            "analyze", log.path, "--rule", #"^/products/(\d+)$ => product:$1"#, "--output-format", "urls", "--base-url", "http://app:8080", "-q",
        ])
        #expect(rules.status == 0, "\(rules.stderr)")
        #expect(rules.stdout.split(separator: "\n").first == "http://app:8080/products/7", "a rule's key is written as its representative path")
        let missing = try WarmTestKit.warmset(["analyze", log.path, "--output-format", "urls"])
        #expect(missing.status == 64 && missing.stderr.contains("--base-url"))
        let bad = try WarmTestKit.warmset(["analyze", log.path, "--output-format", "urls", "--base-url", "shop.example.com"])
        #expect(bad.status == 64)
    }

    @Test func pathsThatWouldChangeTheHostAreLeftOut() {
        let entries = ["/ok", "//evil.example/x", "relative", "/also ok"].map { RankedKey(key: $0, count: 1, path: $0) }
        let text = String(decoding: ManifestRenderer.renderURLs(entries, baseURL: "https://shop.example.com"), as: UTF8.self)
        #expect(text == "https://shop.example.com/ok\n")
    }
}
