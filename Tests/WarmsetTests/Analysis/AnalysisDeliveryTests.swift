import WarmsetModel
import Foundation
import Testing
import WarmsetEmit
@testable import WarmsetAnalysis
@testable import WarmsetSketch

/// The outputs policy of a finished analysis (`AnalysisDelivery`): what is written when the
/// input was damaged, `--allow-partial`, `--max-malformed`, and the exit status, decided once.
@Suite("Analysis: delivering the outputs")
struct AnalysisDeliveryTests {
    /// A small result: two keys, a summary, a sketch.
    func result(partial: Bool = false, tooManyMalformed: Bool = false) -> AnalysisResult {
        var summary = AnalysisSummary()
        summary.linesRead = 10
        summary.linesMalformed = tooManyMalformed ? 9 : 0
        summary.malformedSamples = tooManyMalformed ? ["a.log:1: no match at byte 1"] : []
        summary.partial = partial
        summary.errors = partial ? ["a.log.gz: gzip stream is truncated at compressed byte 18"] : []
        summary.tooManyMalformed = tooManyMalformed
        summary.keysEmitted = 2
        let sketch = SketchCounter(parameters: SketchParameters(depth: 2, widthLog2: 8), top: 2)
        return AnalysisResult(
            ranked: [RankedKey(key: "/a", count: 3, path: "/a"), RankedKey(key: "/b", count: 1, path: "/b")], summary: summary,
            errorBound: 0, sketch: sketch.snapshot())
    }

    /// What one delivery did: the status, the sentences said, the summaries printed.
    struct Run {
        var verdict: AnalysisDelivery.Verdict
        var said: [String] = []
        var printed: [(AnalysisSummary, Bool)] = []
    }

    func deliver(_ result: AnalysisResult, _ delivery: AnalysisDelivery) -> Run {
        var said: [String] = []
        var printed: [(AnalysisSummary, Bool)] = []
        let verdict = delivery.deliver(result, say: { said.append($0) }, summary: { printed.append(($0, $1)) })
        return Run(verdict: verdict, said: said, printed: printed)
    }

    func delivery(in dir: URL, allowPartial: Bool = false, warms: Bool = false, toStdout: Bool = false) -> AnalysisDelivery {
        var c = AnalysisConfiguration()
        c.allowPartial = allowPartial
        c.saveSketch = dir.appendingPathComponent("s.sketch").path
        return AnalysisDelivery(
            configuration: c, manifest: .manifest(.tsv, to: toStdout ? "-" : dir.appendingPathComponent("m.tsv").path),
            summaryJSON: dir.appendingPathComponent("summary.json").path, warmsAfterwards: warms)
    }

    func exists(_ dir: URL, _ name: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) }

    @Test("a trusted result writes the manifest, the sketch and the summary JSON, and succeeds")
    func trusted() throws {
        let dir = try TestSupport.temporaryDirectory()
        let run = deliver(result(), delivery(in: dir))
        #expect(run.verdict == .init(status: 0, written: true))
        #expect(run.said.isEmpty)
        #expect(try String(contentsOf: dir.appendingPathComponent("m.tsv"), encoding: .utf8) == "/a\t3\n/b\t1\n")
        #expect(exists(dir, "s.sketch") && exists(dir, "summary.json"))
        #expect(run.printed.count == 1 && run.printed[0].1 && run.printed[0].0.keysEmitted == 2)
    }

    @Test("a partial result writes nothing but the summary JSON and fails, saying how to write it anyway")
    func partialRefused() throws {
        let dir = try TestSupport.temporaryDirectory()
        let run = deliver(result(partial: true), delivery(in: dir))
        #expect(run.verdict == .init(status: 1, written: false))
        #expect(!exists(dir, "m.tsv") && !exists(dir, "s.sketch"))
        #expect(exists(dir, "summary.json"))
        #expect(run.printed.count == 1 && !run.printed[0].1 && run.printed[0].0.keysEmitted == 0)
        #expect(run.said == [
            "the result is partial, so no manifest was written: a.log.gz: gzip stream is truncated at compressed byte 18. Fix the input, or rerun with --allow-partial to write what was read"
        ])
    }

    @Test("--allow-partial writes a partial result, warns and succeeds")
    func partialAllowed() throws {
        let dir = try TestSupport.temporaryDirectory()
        let run = deliver(result(partial: true), delivery(in: dir, allowPartial: true))
        #expect(run.verdict == .init(status: 0, written: true))
        #expect(exists(dir, "m.tsv") && exists(dir, "s.sketch"))
        #expect(run.said.count == 1 && run.said[0].hasPrefix("warning: the result is PARTIAL"))
    }

    @Test("too many malformed lines write nothing, even with --allow-partial, and fail")
    func tooManyMalformed() throws {
        let dir = try TestSupport.temporaryDirectory()
        let run = deliver(result(tooManyMalformed: true), delivery(in: dir, allowPartial: true))
        #expect(run.verdict.status == 1 && !run.verdict.mayWarm)
        #expect(!exists(dir, "m.tsv") && !exists(dir, "s.sketch"))
        #expect(run.said == [
            "90.0% of lines (9 of 10) do not match the format 'combined' (first: a.log:1: no match at byte 1); check --format. No manifest was written"
        ])
    }

    @Test("with a warmer and no -o no manifest is written, and the warmer may run; not when the result is partial")
    func warmsAfterwards() throws {
        let dir = try TestSupport.temporaryDirectory()
        let run = deliver(result(), delivery(in: dir, warms: true, toStdout: true))
        #expect(run.verdict == .init(status: 0, written: false) && run.verdict.mayWarm)
        #expect(run.printed.first?.0.keysEmitted == 0)
        let partial = deliver(result(partial: true), delivery(in: dir, warms: true, toStdout: true))
        #expect(!partial.verdict.mayWarm)
    }

    @Test("a sketch that cannot be written ends the run before the summary")
    func sketchUnwritable() throws {
        let dir = try TestSupport.temporaryDirectory()
        var d = delivery(in: dir)
        d.configuration.saveSketch = dir.appendingPathComponent("missing/dir/s.sketch").path
        let run = deliver(result(), d)
        #expect(run.verdict.status == 1)
        #expect(run.printed.isEmpty && !exists(dir, "m.tsv"))
        #expect(run.said.count == 1 && run.said[0].hasPrefix("--save-sketch "))
    }

    @Test("a manifest that cannot be written fails the run after the summary")
    func manifestUnwritable() throws {
        let dir = try TestSupport.temporaryDirectory()
        var d = delivery(in: dir)
        d.manifest = .manifest(.keys, to: dir.appendingPathComponent("missing/m.keys").path)
        let run = deliver(result(), d)
        #expect(run.verdict == .init(status: 1, written: false))
        #expect(run.printed.count == 1 && !run.printed[0].1)
        #expect(run.said.count == 1)
    }
}
