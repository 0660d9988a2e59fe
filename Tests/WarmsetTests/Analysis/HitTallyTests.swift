import Foundation
import Testing
import WarmsetGenerator
@testable import WarmsetAnalysis
@testable import WarmsetKeys
@testable import WarmsetSketch

/// Requests answered by the key memo are counted per memo slot and reach the sketch in
/// batches (`HitTally`): nothing may be lost or counted twice on the way — not at a batch's
/// end, not when a slot is given to another target, not at the end of a file.
@Suite("Analysis: memo hits counted in batches")
struct HitTallyTests {
    @Test("a batch of c requests counts as c requests one by one")
    func batchEqualsSingles() throws {
        let parameters = SketchParameters(depth: 4, widthLog2: 12)
        let single = SketchCounter(parameters: parameters, top: 10)
        let batched = SketchCounter(parameters: parameters, top: 10)
        func add(_ counter: SketchCounter, _ key: String, bytes: Int64) {
            var k = Array(key.utf8)
            k.withUnsafeMutableBytes { counter.add(key: UnsafeRawBufferPointer($0), path: UnsafeRawBufferPointer($0), bytes: bytes) }
        }
        for other in ["a", "b", "c"] {
            add(single, other, bytes: 5)
            add(batched, other, bytes: 5)
        }
        var bytes: Int64 = 0
        for i in 0..<77 {
            add(single, "hot", bytes: Int64(i))
            bytes += Int64(i)
        }
        var hot = Array("hot".utf8)
        hot.withUnsafeMutableBytes {
            batched.add(key: UnsafeRawBufferPointer($0), path: UnsafeRawBufferPointer($0), count: 77, bytes: bytes)
        }
        #expect(batched.ranked(limit: 10) == single.ranked(limit: 10))
        #expect(batched.stats == single.stats)
        let top = try #require(batched.ranked(limit: 1).first)
        #expect(top.key == "hot" && top.count == 77 && top.observed == 77 && top.meanBytes == bytes / 77)
    }

    func configuration(_ path: String, exact: Bool, threads: Int) -> AnalysisConfiguration {
        var c = AnalysisConfiguration()
        c.inputs = [path]
        c.exact = exact
        c.top = 100_000
        c.rules = [#"^/products/(\d+)$ => product:$1"#]
        c.parseThreads = threads
        c.parallelChunkSize = 64 * 1024
        // Wide enough that no two of these keys share all four counters: estimates are exact.
        c.sketch = SketchParameters(depth: 4, widthLog2: 20)
        return c
    }

    /// More distinct targets than the memo has slots (slots change hands) and keys requested
    /// thousands of times (many full batches): every key's count, observed count and mean
    /// bytes in sketch mode equal the exact counts, on one thread and on two.
    @Test("sketch counts with batched hits equal exact counts", arguments: [1, 2])
    func sketchEqualsExact(threads: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("traffic.log").path
        var bytes: [UInt8] = []
        TrafficGenerator(lines: 150_000, keys: 40_000, zipf: 1.0, seed: 17).write { bytes += $0 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let exact = try Analyzer.run(configuration(path, exact: true, threads: 1))
        let sketch = try Analyzer.run(configuration(path, exact: false, threads: threads))
        #expect(exact.ranked.count > KeyBuilder.memoSlotCount)
        #expect(try #require(exact.ranked.first).count > 10 * UInt64(HitTally.batch))
        #expect(sketch.summary.requestsCounted == exact.summary.requestsCounted)
        #expect(sketch.ranked.count == exact.ranked.count)
        let truth = Dictionary(uniqueKeysWithValues: exact.ranked.map { ($0.key, $0) })
        var mismatches: [String] = []
        for key in sketch.ranked {
            guard let real = truth[key.key] else {
                mismatches.append("\(key.key): not in the exact counts")
                continue
            }
            if key.count != real.count || key.observed != real.count || key.meanBytes != real.meanBytes || key.path != real.path {
                mismatches.append("\(key.key): \(key.count)/\(key.observed)/\(key.meanBytes) vs \(real.count)/\(real.meanBytes)")
            }
        }
        let allEqual = mismatches.isEmpty
        #expect(allEqual, "\(mismatches.prefix(5)) (\(mismatches.count) keys differ)")
    }
}
