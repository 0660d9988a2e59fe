import WarmsetModel
import Foundation
import Testing
import WarmsetSketch

@Suite("Merging sketches")
struct SketchMergeTests {
    static let parameters = SketchParameters(depth: 4, widthLog2: 12, seed: 7)

    /// Splits a stream into `hosts` parts at random (each request to a random host).
    static func split(_ stream: [Int32], hosts: Int, seed: UInt64) -> [[Int32]] {
        var random = SeededRandomForTests(seed: seed)
        var parts = [[Int32]](repeating: [], count: hosts)
        for rank in stream { parts[random.below(hosts)].append(rank) }
        return parts
    }

    static func cells(_ sketch: CountMinSketch<UInt32>) -> [UInt32] {
        var out: [UInt32] = []
        for row in 0..<sketch.parameters.depth {
            for column in 0..<sketch.parameters.width { out.append(sketch.cell(row: row, column: column)) }
        }
        return out
    }

    @Test("plain update: merge(A, B, C) equals the sketch of the concatenated logs exactly", arguments: [11, 12, 13] as [UInt64])
    func plainMergeIsExact(seed: UInt64) throws {
        print("seed \(seed)")
        let stream = ScaleSupport.zipfStream(requests: 30_000, keys: 3_000, exponent: 1.0, seed: seed)
        let whole = SketchCounter(parameters: Self.parameters, top: 50, conservative: false)
        ScaleSupport.feed(stream, to: whole)
        let merged = SketchCounter(parameters: Self.parameters, top: 50, conservative: false)
        for (host, part) in Self.split(stream, hosts: 3, seed: seed).enumerated() {
            let counter = SketchCounter(parameters: Self.parameters, top: 50, conservative: false)
            ScaleSupport.feed(part, to: counter)
            // Through the file format, as hosts would ship them.
            let file = SketchFile.encode(counter.snapshot())
            try merged.merge(try SketchFile.decode(file, path: "host\(host).sketch"), name: "host\(host).sketch")
        }
        #expect(differingCells(Self.cells(merged.sketch), Self.cells(whole.sketch)) == 0, "seed \(seed)")
        #expect(merged.stats.total == 30_000)
        // The merged ranking agrees with the whole run's where counts are separated.
        let a = merged.ranked(limit: 20).map(\.key), b = whole.ranked(limit: 20).map(\.key)
        #expect(a == b, "seed \(seed)")
    }

    @Test("conservative update: the merged table is between the truth and the plain sketch of the concatenation", arguments: [21, 22] as [UInt64])
    func conservativeMergeIsBounded(seed: UInt64) throws {
        print("seed \(seed)")
        let keys = 3_000
        let stream = ScaleSupport.zipfStream(requests: 30_000, keys: keys, exponent: 0.9, seed: seed)
        let plainWhole = SketchCounter(parameters: Self.parameters, top: 50, conservative: false)
        ScaleSupport.feed(stream, to: plainWhole)
        let merged = SketchCounter(parameters: Self.parameters, top: 50)
        let parts = Self.split(stream, hosts: 4, seed: seed)
        for (host, part) in parts.enumerated() {
            let counter = SketchCounter(parameters: Self.parameters, top: 50)
            ScaleSupport.feed(part, to: counter)
            try merged.merge(counter.snapshot(), name: "host\(host)")
        }
        let mergedCells = Self.cells(merged.sketch), plainCells = Self.cells(plainWhole.sketch)
        #expect(zip(mergedCells, plainCells).allSatisfy { $0 <= $1 }, "seed \(seed)")
        let truth = ScaleSupport.truth(stream, keys: keys)
        let bound = merged.sketch.errorBoundWeight
        for rank in 0..<keys {
            let key = ScaleSupport.keyBytes(Int32(rank))
            let estimate = key.withUnsafeBytes { merged.sketch.estimate(KeyHash.hash($0, seed: 7)) }
            #expect(Double(estimate) >= Double(truth[rank]) && Double(estimate) <= Double(truth[rank]) + bound, "seed \(seed) key \(rank)")
        }
        // The miss bound: every key above it is a candidate.
        let stats = merged.stats
        let candidates = Set(merged.ranked(limit: .max).compactMap { ScaleSupport.rank(of: $0.key) })
        #expect(stats.missBound > 0)
        for rank in 0..<keys where Double(truth[rank]) > stats.missBound {
            #expect(candidates.contains(rank), "seed \(seed): key \(rank) counted \(truth[rank]) > miss bound \(stats.missBound) is not a candidate")
        }
    }

    @Test("sketches made differently do not merge, with a reason")
    func incompatible() throws {
        let base = SketchCounter(parameters: Self.parameters, top: 5)
        let cases: [(SketchSnapshot, String)] = [
            (SketchCounter(parameters: SketchParameters(depth: 4, widthLog2: 12, seed: 8), top: 5).snapshot(), "hash seed"),
            (SketchCounter(parameters: SketchParameters(depth: 4, widthLog2: 11, seed: 7), top: 5).snapshot(), "shape"),
            (SketchCounter(parameters: Self.parameters, top: 5, conservative: false).snapshot(), "update rule"),
            (WeightedSketchCounter(parameters: Self.parameters, top: 5, weight: .bytes, halfLifeSeconds: nil).snapshot(), "counter type"),
        ]
        for (other, what) in cases {
            let error = #expect(throws: SketchError.self) { try base.merge(other, name: "b.sketch") }
            #expect(error?.description.hasPrefix("b.sketch: cannot merge this sketch: its \(what)") == true, "\(error?.description ?? "")")
        }
        let weighted = WeightedSketchCounter(parameters: Self.parameters, top: 5, weight: .bytes, halfLifeSeconds: nil)
        let decayed = WeightedSketchCounter(parameters: Self.parameters, top: 5, weight: .bytes, halfLifeSeconds: 3600)
        let timeWeighted = WeightedSketchCounter(parameters: Self.parameters, top: 5, weight: .time, halfLifeSeconds: nil)
        #expect(throws: SketchError.self) { try weighted.merge(decayed.snapshot(), name: "d") }
        #expect(throws: SketchError.self) { try weighted.merge(timeWeighted.snapshot(), name: "t") }
    }
}

@Suite("Forward decay")
struct ForwardDecayTests {
    static let parameters = SketchParameters(depth: 4, widthLog2: 12, seed: 9)
    static let start: Int64 = 1_795_737_600  // 2026-11-27T00:00:00Z

    @Test("landmarks are multiples of 64 half-lives and renormalization is exact")
    func landmarks() {
        var decay = ForwardDecay(halfLifeSeconds: 3600)
        let first = decay.observe(Self.start)
        #expect(decay.landmark.map { $0 % (64 * 3600) } == 0)
        #expect(first.rescale == nil)
        let later = decay.observe(Self.start + 64 * 3600)
        #expect(later.rescale == 0x1p-64)
        #expect(decay.displayScale > 0 && decay.newest == Self.start + 64 * 3600)
    }

    @Test("decayed scores equal exp-decayed counts as of the newest time, across renormalizations", arguments: [31, 32] as [UInt64])
    func decayedScores(seed: UInt64) {
        print("seed \(seed)")
        var random = SeededRandomForTests(seed: seed)
        let halfLife: Int64 = 1800
        let counter = ExactCounter(seed: 9, weighted: true, halfLifeSeconds: halfLife)
        let sketch = WeightedSketchCounter(parameters: Self.parameters, top: 10, weight: .requests, halfLifeSeconds: halfLife)
        var events: [(key: Int, time: Int64)] = []
        // 10 days of traffic: 133 half-lives, so the landmark moves twice.
        for i in 0..<20_000 {
            let time = Self.start + Int64(i) * 43
            // Key popularity shifts over time: key (i / 2000) % 10 is hot in its window.
            let key = random.below(4) == 0 ? (i / 2000) % 10 : 10 + random.below(40)
            events.append((key, time))
        }
        for (key, time) in events {
            let bytes = ScaleSupport.keyBytes(Int32(key))
            bytes.withUnsafeBytes {
                counter.add(key: $0, path: $0, bytes: 1, weight: 1, time: time)
                sketch.add(key: $0, path: $0, bytes: 1, weight: 1, time: time)
            }
        }
        let newest = events.last?.time ?? 0
        var expected = [Double](repeating: 0, count: 50)
        for (key, time) in events { expected[key] += exp2(-Double(newest - time) / Double(halfLife)) }
        for ranked in counter.ranked(limit: 50) {
            let rank = ScaleSupport.rank(of: ranked.key) ?? -1
            let score = ranked.score ?? -1
            #expect(abs(score - expected[rank]) <= 1e-9 * max(1, expected[rank]), "seed \(seed) key \(rank): \(score) vs \(expected[rank])")
        }
        // The hottest key now is the one of the last window, not the busiest overall.
        #expect(counter.ranked(limit: 1).first?.key == "k9")
        #expect(sketch.ranked(limit: 1).first?.key == "k9")
        let bound = sketch.stats.errorBoundWeight
        for ranked in sketch.ranked(limit: 20) {
            let rank = ScaleSupport.rank(of: ranked.key) ?? -1
            let score = ranked.score ?? -1
            #expect(score >= expected[rank] * (1 - 1e-9) && score <= expected[rank] + bound + 1e-9, "seed \(seed) key \(rank)")
        }
    }

    @Test("decayed sketches from hosts with different landmarks merge to the single-run result")
    func decayedMerge() throws {
        let halfLife: Int64 = 600
        let whole = WeightedSketchCounter(parameters: Self.parameters, top: 10, conservative: false, weight: .bytes, halfLifeSeconds: halfLife)
        let early = WeightedSketchCounter(parameters: Self.parameters, top: 10, conservative: false, weight: .bytes, halfLifeSeconds: halfLife)
        let late = WeightedSketchCounter(parameters: Self.parameters, top: 10, conservative: false, weight: .bytes, halfLifeSeconds: halfLife)
        var random = SeededRandomForTests(seed: 41)
        print("seed 41")
        for i in 0..<6_000 {
            // The early host's logs end before the late host's landmark period starts.
            let time = Self.start + Int64(i) * 20
            let key = ScaleSupport.keyBytes(Int32(random.below(30)))
            let bytes = Double(1 + random.below(5000))
            key.withUnsafeBytes {
                whole.add(key: $0, path: $0, bytes: Int64(bytes), weight: bytes, time: time)
                (i < 3_000 ? early : late).add(key: $0, path: $0, bytes: Int64(bytes), weight: bytes, time: time)
            }
        }
        #expect(early.snapshot().landmark != late.snapshot().landmark)
        let merged = KeyCounting.empty(like: late.snapshot(), capacity: 20)
        try merged.merge(late.snapshot(), name: "late")
        try merged.merge(early.snapshot(), name: "early")
        let a = merged.keyCounter.ranked(limit: 10), b = whole.ranked(limit: 10)
        #expect(a.map(\.key) == b.map(\.key))
        for (x, y) in zip(a, b) {
            let sx = x.score ?? 0, sy = y.score ?? 0
            #expect(abs(sx - sy) <= 1e-9 * sy, "\(x.key): \(sx) vs \(sy)")
        }
    }
}
