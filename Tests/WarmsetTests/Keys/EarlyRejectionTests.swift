import Foundation
import Testing
@testable import WarmsetAnalysis
@testable import WarmsetKeys

/// `KeyBuilder.rejectsEarly` turns lines away before the memo when no rule can key them. It
/// must never answer for a target that `build` would key or skip for another reason: random
/// targets made of the pieces that normalization, query handling and log escapes act on.
@Suite("Keys: lines no rule can key, turned away before the memo")
struct EarlyRejectionTests {
    static let pieces = ["/products/", "/product", "/users/", "/api/v1/", "/", "//", "/./", "/../", "%70", "%2F", "%2e", "%zz",
                         "?", "#", "&q=1", "\\x2F", "\\x3F", "\\x5C", "\\", "\\q", "products", "12", "a", "Z", " ", "é", "\"", "~"]

    static func randomTarget(_ rng: inout SplitMix) -> String {
        var target = ""
        for _ in 0..<Int(rng.next() % 6 + 1) { target += pieces[Int(rng.next() % UInt64(pieces.count))] }
        return rng.next() % 8 == 0 ? target : "/" + target
    }

    /// (builder, whether it may turn lines away at all)
    static func builders() throws -> [(String, KeyBuilder, Bool)] {
        let rules = [try KeyRule(#"^/products/(\d+)$ => product:$1"#), try KeyRule(#"^/api/v1/(.*)$ => api:$1"#)]
        return [
            ("two rules, query dropped", KeyBuilder(rules: rules), true),
            ("two rules, query kept", KeyBuilder(rules: rules, queryPolicy: .all), true),
            // Targets longer than the builder expects fail to decode (`.badRequest`), not `.noRule`.
            ("a short target limit", KeyBuilder(rules: rules, maxTargetBytes: 20), true),
            // Paths longer than its path buffer (16 bytes here) are not copied as they are.
            ("a tiny target limit", KeyBuilder(rules: rules, maxTargetBytes: 4), true),
            ("a rule whose literal holds a ?", KeyBuilder(rules: [try KeyRule(#"^/product\?id=(\d+)$ => p:$1"#)], queryPolicy: .all), true),
            ("with an exclude", KeyBuilder(rules: rules, excludes: [try Pattern("^/users/", wholeSubject: false, what: "test")]), false),
            ("a rule without a literal", KeyBuilder(rules: rules + [try KeyRule(#"^(.*)/12$ => t:$1"#)]), false),
            ("no rules", KeyBuilder(), false),
        ]
    }

    @Test func agreesWithBuild() throws {
        var rng = SplitMix(seed: 11)
        for (name, builder, mayReject) in try Self.builders() {
            #expect(builder.canRejectEarly == mayReject, "\(name)")
            var rejected = 0
            var noRuleLeftToBuild = 0
            for _ in 0..<20_000 {
                let target = Self.randomTarget(&rng)
                let escapes = rng.next() % 4 != 0
                var bytes = Array(target.utf8)
                let (early, outcome) = bytes.withUnsafeMutableBytes { raw in
                    let t = UnsafeRawBufferPointer(raw)
                    return (builder.rejectsEarly(target: t, hasLogEscapes: escapes), Verdict(builder.build(target: t, hasLogEscapes: escapes)))
                }
                if early {
                    rejected += 1
                    #expect(outcome == .skipped(.noRule), "\(name): '\(target)' (escapes \(escapes)) turned away early, but build gives \(outcome)")
                    if outcome != .skipped(.noRule) { return }
                } else if outcome == .skipped(.noRule) {
                    noRuleLeftToBuild += 1
                }
            }
            if mayReject {
                #expect(rejected > 1_000, "\(name): only \(rejected) turned away early")
                #expect(noRuleLeftToBuild > 100, "\(name): the unsure cases are left to build")
            } else {
                #expect(rejected == 0, "\(name)")
            }
        }
    }

    /// Through a whole analysis: the requests counted and the reasons the others were not are
    /// those of `build` line by line (lines that normalize into a rule's reach, escapes, kept
    /// and dropped queries), in sketch mode (memo, batched hits) and exact mode.
    @Test("an analysis counts what build decides", arguments: [false, true])
    func analysisCounts(exact: Bool) throws {
        var rng = SplitMix(seed: 5)
        let targets = (0..<30_000).map { i -> String in
            switch i % 5 {
            case 0: return "/products/\(rng.next() % 500)"
            case 1: return "/users/\(rng.next() % 5000)/profile"
            default: return Self.randomTarget(&rng).replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "\"", with: "\\x22")
            }
        }
        let file = try TestSupport.generatedFile("rules.log", lines: targets.count) { i in
            "10.0.0.\(i % 200) - - [27/Nov/2026:00:00:00 +0000] \"GET \(targets[i]) HTTP/1.1\" 200 \(i % 9000) \"-\" \"test\""
        }
        let reference = KeyBuilder(rules: [try KeyRule(#"^/products/(\d+)$ => product:$1"#), try KeyRule(#"^/api/v1/(.*)$ => api:$1"#)])
        var counted = 0
        var reasons: [String: Int] = [:]
        var turnedAway = 0
        for target in targets {
            var bytes = Array(target.utf8)
            let (outcome, early) = bytes.withUnsafeMutableBytes { raw in
                let t = UnsafeRawBufferPointer(raw)
                return (Verdict(reference.build(target: t, hasLogEscapes: true)), reference.rejectsEarly(target: t, hasLogEscapes: true))
            }
            if early { turnedAway += 1 }
            switch outcome {
            case .key: counted += 1
            case .skipped(let reason): reasons[reason.rawValue, default: 0] += 1
            }
        }
        var c = AnalysisConfiguration()
        c.inputs = [file.path]
        c.exact = exact
        c.top = 100_000
        c.rules = [#"^/products/(\d+)$ => product:$1"#, #"^/api/v1/(.*)$ => api:$1"#]
        let result = try Analyzer.run(c)
        #expect(turnedAway > 5_000)
        #expect(result.summary.requestsCounted == UInt64(counted))
        #expect(result.summary.filtered == reasons)
    }
}
