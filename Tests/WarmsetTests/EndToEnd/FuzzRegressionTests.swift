import Foundation
import Testing

/// Every input the fuzzers found (fixtures/fuzz/TARGET/*), and the fuzzers' seeds, replayed
/// through the same target code with the normal build of `warmset-fuzz`.
@Suite("Fuzz findings replay")
struct FuzzRegressionTests {
    static var replayBinary: String {
        URL(fileURLWithPath: TestSupport.binary).deletingLastPathComponent().appendingPathComponent("warmset-fuzz").path
    }

    static let seeds: [String: [String]] = [
        "logformat": ["custom/format.txt"],
        "lineparser": ["combined/escapes-and-queries.log", "common/basic.log"],
        "linereader": ["combined/escapes-and-queries.log", "gzip/not-gzip.bin"],
        "json": ["json/access.jsonl"],
        "keys": ["combined/escapes-and-queries.log"],
        "rule": ["rules/shop.yaml"],
        "sketchfile": ["gzip/single.log.gz", "combined/escapes-and-queries.log"],
    ]

    @Test("each target survives its seeds and every recorded finding", arguments: ["logformat", "lineparser", "linereader", "json", "keys", "rule", "sketchfile"])
    func replay(target: String) throws {
        var files = (Self.seeds[target] ?? []).map(TestSupport.fixture)
        let findings = TestSupport.repoRoot.appendingPathComponent("fixtures/fuzz/\(target)")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: findings.path) {
            files += names.sorted().map { findings.appendingPathComponent($0).path }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.replayBinary)
        process.arguments = [target] + files
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(target): \(text)")
        #expect(text.split(separator: "\n").count == files.count, "every file was replayed")
    }
}
