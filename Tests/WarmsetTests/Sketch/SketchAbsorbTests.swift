import WarmsetModel
import Testing
import WarmsetGenerator
@testable import WarmsetSketch

/// The end-of-run passes over all candidates: a lane absorbed in place (`SketchCounter.absorb`,
/// which unions the other set's table without copying it) ranks and counts exactly as merging
/// its snapshot does; the prefetching estimate pass gives the estimates one by one; the
/// vectorized count of a row's empty cells gives what the generic loop gives.
@Suite("Sketch: passes over all candidates at the end of a run")
struct SketchAbsorbTests {
    static func fill(_ counter: SketchCounter, seed: UInt64, requests: Int) {
        var random = SeededRandom(seed: seed)
        let zipf = ZipfSampler(count: 20_000, exponent: 1.0)
        for _ in 0..<requests {
            let k = zipf.sample(&random)
            var key = Array("/products/\(k)".utf8)
            key.withUnsafeMutableBytes { counter.add(key: UnsafeRawBufferPointer($0), path: UnsafeRawBufferPointer($0), bytes: Int64(k % 977)) }
        }
    }

    /// Two lanes' counters of the same shape (depth 4), filled from different seeds.
    static func lanes(widthLog2: Int, top: Int, seeds: (UInt64, UInt64), requests: (Int, Int)) -> (SketchCounter, SketchCounter) {
        let a = SketchCounter(parameters: SketchParameters(depth: 4, widthLog2: widthLog2), top: top)
        let b = a.emptyCopy()
        fill(a, seed: seeds.0, requests: requests.0)
        fill(b, seed: seeds.1, requests: requests.1)
        return (a, b)
    }

    /// With enough candidates the ranking's estimates and strings are made in two halves at
    /// once (`CandidateSet.parallelFrom`), and the merge sums the sketch while it unites the
    /// tables: the same keys, counts, paths and order as taking the candidates one by one, and
    /// the same result as merging the snapshot.
    @Test func aLargeMergeAndRankingEqualTheOrderKeyByKey() throws {
        func lanes() -> (SketchCounter, SketchCounter) { Self.lanes(widthLog2: 14, top: 3_000, seeds: (5, 6), requests: (150_000, 100_000)) }
        let (a, b) = lanes()
        a.absorb(b)
        let core = a.core
        #expect(core.table.count >= CandidateSet<UInt32>.parallelFrom, "ranked in two halves")
        let ranked = a.ranked(limit: 5_000)
        let reference = core.table.entries.map { entry in
            (key: String(decoding: core.table.key(of: entry), as: UTF8.self), count: UInt64(core.sketch.estimate(entry.hash)),
             path: String(decoding: core.table.path(of: entry), as: UTF8.self))
        }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.prefix(5_000)
        #expect(ranked.count == 5_000)
        #expect(ranked.map(\.key) == reference.map(\.key))
        #expect(ranked.map(\.count) == reference.map(\.count))
        #expect(ranked.map(\.path) == reference.map(\.path))
        let (c, d) = lanes()
        try c.merge(d.snapshot(), name: "lane")
        #expect(a.ranked(limit: 6_000) == c.ranked(limit: 6_000))
        #expect(a.stats == c.stats)
    }

    /// Ranking with only the first `named` keys named (the keys a run chooses): the same order,
    /// counts and sizes as naming them all; the first `named` with their key and path, the rest
    /// with none, for both the unweighted counter and the summary's use of the tail.
    @Test func onlyTheFirstNamedKeysGetStrings() {
        let (a, _) = Self.lanes(widthLog2: 12, top: 300, seeds: (7, 8), requests: (40_000, 1))
        let all = a.ranked(limit: 600)
        let named = a.ranked(limit: 600, named: 250)
        #expect(all.count == 600 && named.count == 600)
        #expect(named.map(\.count) == all.map(\.count))
        #expect(named.map(\.meanBytes) == all.map(\.meanBytes))
        #expect(named.prefix(250).map(\.key) == all.prefix(250).map(\.key))
        #expect(named.prefix(250).map(\.path) == all.prefix(250).map(\.path))
        #expect(all.allSatisfy { !$0.key.isEmpty && !$0.path.isEmpty })
        #expect(named.dropFirst(250).allSatisfy { $0.key.isEmpty && $0.path.isEmpty })
    }

    /// A ranking right after a merge reads the estimates the merge queried; one after more
    /// requests are counted queries the sketch again: both agree with the sketch key by key.
    @Test func theMergesEstimatesServeOnlyUntilTheNextCount() {
        let (a, b) = Self.lanes(widthLog2: 12, top: 300, seeds: (9, 10), requests: (50_000, 40_000))
        a.absorb(b)
        func reference(_ counter: SketchCounter) -> [String: UInt64] {
            let core = counter.core
            return Dictionary(uniqueKeysWithValues: core.table.entries.map {
                (String(decoding: core.table.key(of: $0), as: UTF8.self), UInt64(core.sketch.estimate($0.hash)))
            })
        }
        let merged = a.ranked(limit: 600)
        let atMerge = reference(a)
        #expect(merged.count == 600 && merged.allSatisfy { atMerge[$0.key] == $0.count })
        // The same hot keys again: their counters grow, so stale estimates would show.
        Self.fill(a, seed: 9, requests: 20_000)
        let later = a.ranked(limit: 600)
        let now = reference(a)
        #expect(later.allSatisfy { now[$0.key] == $0.count })
        #expect(later.map(\.count).reduce(0, +) > merged.map(\.count).reduce(0, +))
    }

    @Test func absorbInPlaceEqualsMergingTheSnapshot() throws {
        // Small enough that candidates are turned away (the miss bound is live) and the union is cut back.
        func lanes() -> (SketchCounter, SketchCounter) { Self.lanes(widthLog2: 12, top: 300, seeds: (1, 2), requests: (60_000, 45_000)) }
        let (a, b) = lanes()
        a.absorb(b)
        let (c, d) = lanes()
        try c.merge(d.snapshot(), name: "lane")
        #expect(a.stats.missBound > 0, "some candidates were turned away")
        #expect(a.ranked(limit: 600) == c.ranked(limit: 600))
        #expect(a.stats == c.stats)
        #expect(a.snapshot() == c.snapshot())
    }

    @Test func prefetchingEstimatesEqualOneByOne() {
        let parameters = SketchParameters(depth: 4, widthLog2: 10)
        let counter = SketchCounter(parameters: parameters, top: 50)
        Self.fill(counter, seed: 3, requests: 30_000)
        let sketch = counter.sketch
        for count in [0, 1, 15, 16, 17, 1000] {
            let hashes = (0..<count).map { Array("/k/\($0)".utf8).withUnsafeBytes { KeyHash.hash($0, seed: parameters.seed) } }
            var seen: [(Int, UInt32)] = []
            sketch.forEachEstimate(count: count, hash: { hashes[$0] }) { seen.append(($0, $1)) }
            #expect(seen.map(\.0) == Array(0..<count))
            #expect(seen.map(\.1) == hashes.map { sketch.estimate($0) }, "\(count) keys")
        }
    }

    /// The same keys in a 32-bit sketch (its empty cells counted) and a decayed one
    /// of doubles (the generic loop) leave the same cells empty.
    @Test func emptyCellsCountedAlike() {
        let parameters = SketchParameters(depth: 4, widthLog2: 12)
        let plain = CountMinSketch<UInt32>(parameters: parameters)
        let decayed = CountMinSketch<Double>(parameters: parameters)
        #expect(plain.distinctEstimate() == 0 && decayed.distinctEstimate() == 0)
        for i in 0..<3000 {
            let hash = Array("/p/\(i)".utf8).withUnsafeBytes { KeyHash.hash($0, seed: parameters.seed) }
            _ = plain.add(hash, weight: 1)
            _ = decayed.add(hash, weight: 0.5)
        }
        let estimate = plain.distinctEstimate()
        #expect(estimate != nil && estimate == decayed.distinctEstimate())
        #expect(abs((estimate ?? 0) - 3000) < 300, "\(String(describing: estimate))")
    }
}
