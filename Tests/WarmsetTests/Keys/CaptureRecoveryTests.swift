import Testing
@testable import WarmsetAnalysis
import WarmsetKeys

/// Both places that rank keys (the batch `Analyzer` and watch's `LiveAnalysis`) give every
/// ranked key the captures of the rule that keyed it, recovered from its representative path.
@Suite("Keys: captures of ranked keys, in a batch and a live analysis")
struct CaptureRecoveryTests {
    static let rules = [#"^/products/(\d+)$ => product:$1"#, #"^/users/(?<id>\d+)(?:/(?<tab>[a-z]+))?$ => user:${id}$2"#]
    static let targets = ["/products/12", "/products/%31%33?x=1", "/users/7/profile", "/users/8", "/about", "/products/12"]

    static func expected(_ key: String) -> [String]? {
        switch key {
        case "product:12": return ["12"]
        case "product:13": return ["13"]
        case "user:7profile": return ["7", "profile"]
        case "user:8": return ["8", ""]
        default: return nil
        }
    }

    static func line(_ target: String) -> String {
        "10.0.0.1 - - [27/Nov/2026:00:00:00 +0000] \"GET \(target) HTTP/1.1\" 200 10 \"-\" \"test\""
    }

    /// An analysis of the targets, one line each, written to `name`, with the rules.
    static func configuration(_ name: String) throws -> AnalysisConfiguration {
        let file = try TestSupport.generatedFile(name, lines: targets.count) { line(targets[$0]) }
        var c = AnalysisConfiguration()
        c.inputs = [file.path]
        c.rules = rules
        return c
    }

    @Test func batchAndLiveRecoverTheSameCaptures() throws {
        let c = try Self.configuration("captures.log")
        let batch = try Analyzer.run(c).ranked
        let live = try LiveAnalysis(c)
        for target in Self.targets {
            var bytes = Array(Self.line(target).utf8)
            bytes.withUnsafeMutableBytes { live.count(UnsafeRawBufferPointer($0)) }
        }
        for (name, ranked) in [("batch", batch), ("live", live.ranked())] {
            #expect(Set(ranked.map(\.key)) == ["product:12", "product:13", "user:7profile", "user:8"], "\(name)")
            for key in ranked { #expect(key.captures == Self.expected(key.key), "\(name): \(key.key) from \(key.path)") }
        }
    }

    /// A caller whose output shows no captures turns them off: the same keys, counts and
    /// paths, and no captures.
    @Test func capturesAreLeftOutWhenNotKept() throws {
        var c = try Self.configuration("captures-off.log")
        let kept = try Analyzer.run(c).ranked
        c.keepsCaptures = false
        let left = try Analyzer.run(c).ranked
        #expect(left.map(\.key) == kept.map(\.key))
        #expect(left.map(\.count) == kept.map(\.count))
        #expect(left.map(\.path) == kept.map(\.path))
        #expect(kept.contains { !$0.captures.isEmpty })
        #expect(left.allSatisfy { $0.captures.isEmpty })
    }
}
