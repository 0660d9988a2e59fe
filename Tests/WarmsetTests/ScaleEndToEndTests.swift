import Foundation
import Testing
import WarmsetSketch

/// The built binary: per-host sketches, merge, stdin/stdout, selection, weights, recount.
@Suite("Scale-out end to end", .serialized)
struct ScaleEndToEndTests {
    /// Two hosts' logs from the generator, written once.
    static let logs: (dir: URL, a: String, b: String, json: String)? = {
        guard let dir = try? ScaleSupport.temporaryDirectory("scale") else { return nil }
        let a = dir.appendingPathComponent("web1.log").path, b = dir.appendingPathComponent("web2.log").path
        let json = dir.appendingPathComponent("app.json.log").path
        for (path, seed, format) in [(a, "1", "combined"), (b, "2", "combined"), (json, "3", "json")] {
            guard let run = try? ScaleSupport.run(["generate", "--lines", "20000", "--keys", "3000", "--seed", seed, "--format", format, "-o", path]),
                run.status == 0
            else { return nil }
        }
        return (dir, a, b, json)
    }()

    static func requireLogs() throws -> (dir: URL, a: String, b: String, json: String) {
        try #require(logs, "the warmset binary must be built to generate the test logs")
    }

    @Test("per-host sketches merged equal the sketch of the concatenated logs (plain update), and rank the same")
    func mergeEqualsConcatenation() throws {
        let (dir, a, b, _) = try Self.requireLogs()
        let sa = dir.appendingPathComponent("a.sketch").path, sb = dir.appendingPathComponent("b.sketch").path
        let merged = dir.appendingPathComponent("m.sketch").path, whole = dir.appendingPathComponent("ab.sketch").path
        for (log, sketch) in [(a, sa), (b, sb)] {
            let run = try ScaleSupport.run(["analyze", log, "--update", "plain", "--sketch-memory", "1MiB", "--save-sketch", sketch, "-o", "/dev/null", "-q"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let merge = try ScaleSupport.run(["merge", sa, sb, "-o", merged])
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(merge.stderr.contains("merged 2 sketches"))
        let run = try ScaleSupport.run(["analyze", a, b, "--update", "plain", "--sketch-memory", "1MiB", "--save-sketch", whole, "-o", "/dev/null", "-q"])
        #expect(run.status == 0)
        let m = try SketchFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: merged))), path: merged)
        let w = try SketchFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: whole))), path: whole)
        #expect(differingCells(m.cells, w.cells) == 0)
        #expect(m.requests == w.requests && m.total == w.total)
        let fromSketch = try ScaleSupport.run(["analyze", merged, "--top", "30", "--output-format", "tsv", "-q"])
        let fromLogs = try ScaleSupport.run(["analyze", a, b, "--update", "plain", "--sketch-memory", "1MiB", "--top", "30", "--output-format", "tsv", "-q"])
        #expect(fromSketch.status == 0 && fromLogs.status == 0)
        #expect(fromSketch.text == fromLogs.text)
        #expect(fromSketch.text.split(separator: "\n").count == 30)
        // A sketch and a log together: the log is counted into the sketch's table.
        let mixed = try ScaleSupport.run(["analyze", sa, b, "--update", "plain", "--top", "30", "--output-format", "tsv", "-q"])
        #expect(mixed.text == fromLogs.text)
    }

    @Test("stdin to sketch to stdout, for map and reduce steps")
    func pipes() throws {
        let (_, a, b, _) = try Self.requireLogs()
        let mapA = try ScaleSupport.run(["analyze", "-", "--sketch-memory", "1MiB", "--save-sketch", "-", "-q"], stdin: try Data(contentsOf: URL(fileURLWithPath: a)))
        #expect(mapA.status == 0, "\(mapA.stderr)")
        #expect(mapA.stdout.prefix(8).elementsEqual(SketchFile.magic))
        let mapB = try ScaleSupport.run(["analyze", b, "--sketch-memory", "1MiB", "--save-sketch", "-", "-q"])
        let reduced = try ScaleSupport.run(["merge", "-", "-q"], stdin: mapA.stdout)
        #expect(reduced.status == 0, "\(reduced.stderr)")
        let snapshot = try SketchFile.decode(Array(reduced.stdout), path: "-")
        #expect(snapshot.requests > 10_000)
        let ranked = try ScaleSupport.run(["analyze", "-", "--top", "5", "-q"], stdin: mapB.stdout)
        #expect(ranked.status == 0)
        #expect(ranked.text.split(separator: "\n").count == 5)
        // A gzipped sketch is read too (gzip is undone before the magic number is looked for).
        let gzip = try ScaleSupport.runProgram(URL(fileURLWithPath: "/bin/gzip"), ["-c"], stdin: mapB.stdout)
        #expect(gzip.stdout.prefix(2) == Data([0x1f, 0x8b]))
        let fromGzip = try ScaleSupport.run(["analyze", "-", "--top", "5", "-q"], stdin: gzip.stdout)
        #expect(fromGzip.status == 0, "\(fromGzip.stderr)")
        #expect(fromGzip.text == ranked.text)
    }

    @Test("a truncated or mismatched sketch is one clear sentence and exit 1")
    func damaged() throws {
        let (dir, a, _, _) = try Self.requireLogs()
        let good = dir.appendingPathComponent("good.sketch")
        _ = try ScaleSupport.run(["analyze", a, "--sketch-memory", "1MiB", "--save-sketch", good.path, "-o", "/dev/null", "-q"])
        let bytes = try Data(contentsOf: good)
        let cut = dir.appendingPathComponent("cut.sketch")
        try bytes.prefix(5000).write(to: cut)
        let run = try ScaleSupport.run(["analyze", cut.path, "-q"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cut.sketch: sketch file is truncated at byte 5000"), "\(run.stderr)")
        let merge = try ScaleSupport.run(["merge", good.path, cut.path, "-o", dir.appendingPathComponent("x.sketch").path])
        #expect(merge.status == 1)
        #expect(merge.stderr.contains("truncated at byte 5000"))
        let small = dir.appendingPathComponent("small.sketch")
        _ = try ScaleSupport.run(["analyze", a, "--sketch-memory", "256KiB", "--save-sketch", small.path, "-o", "/dev/null", "-q"])
        let mismatch = try ScaleSupport.run(["merge", good.path, small.path])
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("small.sketch: cannot merge this sketch: its shape"), "\(mismatch.stderr)")
    }

    @Test("usage errors: --recount on stdin, --weight time without $request_time (exit 64)")
    func refusals() throws {
        let (_, a, _, _) = try Self.requireLogs()
        let recount = try ScaleSupport.run(["analyze", "-", "--recount"], stdin: Data("x\n".utf8))
        #expect(recount.status == 64)
        #expect(recount.stderr.contains("--recount reads the logs twice, and stdin can be read only once"))
        let time = try ScaleSupport.run(["analyze", a, "--weight", "time"])
        #expect(time.status == 64)
        #expect(time.stderr.contains("$request_time"))
        let halfLife = try ScaleSupport.run(["analyze", a, "--half-life", "soon"])
        #expect(halfLife.status == 64)
    }

    @Test("--recount gives the exact counts; --coverage picks the smallest covering set")
    func recountAndCoverage() throws {
        let (_, a, b, _) = try Self.requireLogs()
        let exact = try ScaleSupport.run(["analyze", a, b, "--exact", "--top", "100", "--output-format", "tsv", "-q"])
        let recount = try ScaleSupport.run(["analyze", a, b, "--sketch-memory", "8KiB", "--recount", "--top", "100", "--output-format", "tsv"])
        #expect(recount.status == 0, "\(recount.stderr)")
        #expect(recount.stderr.contains("counted exactly in a second pass"))
        // With a tiny sketch the candidates may differ at the tail; the counts given are exact.
        let exactCounts = Dictionary(uniqueKeysWithValues: exact.text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t")
            return (String(parts[0]), String(parts[1]))
        })
        let lines = recount.text.split(separator: "\n")
        #expect(lines.count == 100)
        for line in lines.prefix(50) {
            let parts = line.split(separator: "\t")
            #expect(exactCounts[String(parts[0])] == String(parts[1]), "\(line)")
        }
        // --coverage 0.5 in exact mode: the smallest prefix reaching half of the requests.
        let all = try ScaleSupport.run(["analyze", a, "--exact", "--top", "100000", "--output-format", "tsv", "-q"])
        let counts = all.text.split(separator: "\n").compactMap { Int($0.split(separator: "\t")[1]) }
        let total = counts.reduce(0, +)
        var sum = 0, needed = 0
        for c in counts {
            sum += c
            needed += 1
            if 2 * sum >= total { break }
        }
        let covered = try ScaleSupport.run(["analyze", a, "--exact", "--coverage", "0.5", "--top", "100000", "--output-format", "keys"])
        #expect(covered.text.split(separator: "\n").count == needed)
        #expect(covered.stderr.contains("coverage    top 10 "))
        #expect(covered.stderr.contains("ended by coverage"))
        let budget = try ScaleSupport.run(["analyze", a, "--budget", "64KiB", "--output-format", "keys"])
        #expect(budget.status == 0)
        #expect(budget.stderr.contains("ended by budget"), "\(budget.stderr)")
    }

    @Test("--weight time and --half-life rank by cost and recency on a JSON log")
    func weights() throws {
        let (_, _, _, json) = try Self.requireLogs()
        let time = try ScaleSupport.run(["analyze", json, "--format", "json", "--weight", "time", "--top", "5", "--output-format", "jsonl"])
        #expect(time.status == 0, "\(time.stderr)")
        #expect(time.text.contains("\"score\":"))
        #expect(time.stderr.contains("weight      time"))
        let exactTime = try ScaleSupport.run(["analyze", json, "--format", "json", "--weight", "time", "--exact", "--top", "5", "--output-format", "keys", "-q"])
        let sketchKeys = try ScaleSupport.run(["analyze", json, "--format", "json", "--weight", "time", "--top", "5", "--output-format", "keys", "-q"])
        #expect(exactTime.text == sketchKeys.text)
        let decayed = try ScaleSupport.run(["analyze", json, "--format", "json", "--half-life", "2h", "--top", "5", "--output-format", "tsv"])
        #expect(decayed.status == 0, "\(decayed.stderr)")
        #expect(decayed.stderr.contains("half-life of 7200 s"))
        let noTime = try ScaleSupport.run(["analyze", json, "--format", "$remote_addr \"$request\" $status", "--half-life", "2h"])
        #expect(noTime.status == 64)
    }
}
