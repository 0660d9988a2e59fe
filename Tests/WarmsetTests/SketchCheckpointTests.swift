import Testing
import WarmsetSketch

/// What watch mode's `--state` will rely on: a sketch saved mid-stream and restored counts on
/// to the same table as one uninterrupted run.
@Suite("Sketch checkpoints")
struct SketchCheckpointTests {
    static let parameters = SketchParameters(depth: 4, widthLog2: 12, seed: 5)
    static let start: Int64 = 1_795_737_600

    @Test("request counts: save at any point, restore, continue: the same table and ranking", arguments: [51, 52] as [UInt64])
    func requests(seed: UInt64) throws {
        print("seed \(seed)")
        let stream = ScaleSupport.zipfStream(requests: 20_000, keys: 2_000, exponent: 1.1, seed: seed)
        var random = SeededRandomForTests(seed: seed)
        let cut = 1 + random.below(stream.count - 1)
        let whole = SketchCounter(parameters: Self.parameters, top: 30)
        ScaleSupport.feed(stream, to: whole)
        let first = SketchCounter(parameters: Self.parameters, top: 30)
        ScaleSupport.feed(stream[..<cut], to: first)
        let file = SketchFile.encode(first.snapshot())
        let resumed = try KeyCounting.restore(try SketchFile.decode(file, path: "state"), name: "state")
        ScaleSupport.feed(stream[cut...], to: resumed.keyCounter)
        let a = try #require(resumed.snapshot()), b = whole.snapshot()
        #expect(differingCells(a.cells, b.cells) == 0, "seed \(seed), cut \(cut)")
        #expect(a.requests == b.requests)
        #expect(resumed.keyCounter.ranked(limit: 20).map(\.key) == whole.ranked(limit: 20).map(\.key), "seed \(seed), cut \(cut)")
    }

    @Test("decayed weights: a restored checkpoint continues across a landmark move")
    func decayed() throws {
        print("seed 61")
        var random = SeededRandomForTests(seed: 61)
        let halfLife: Int64 = 300
        let whole = WeightedSketchCounter(parameters: Self.parameters, top: 10, weight: .bytes, halfLifeSeconds: halfLife)
        let first = WeightedSketchCounter(parameters: Self.parameters, top: 10, weight: .bytes, halfLifeSeconds: halfLife)
        var events: [(Int32, Int64, Double)] = []
        for i in 0..<8_000 { events.append((Int32(random.below(100)), Self.start + Int64(i) * 7, Double(1 + random.below(900)))) }
        func add(_ counter: any WeightedKeyCounter, _ event: (Int32, Int64, Double)) {
            let key = ScaleSupport.keyBytes(event.0)
            key.withUnsafeBytes { counter.add(key: $0, path: $0, bytes: Int64(event.2), weight: event.2, time: event.1) }
        }
        for e in events { add(whole, e) }
        for e in events[..<3_000] { add(first, e) }
        let restored = try KeyCounting.restore(try SketchFile.decode(SketchFile.encode(first.snapshot()), path: "s"), name: "s")
        guard case .weightedSketch(let resumed) = restored else {
            Issue.record("a float64 sketch restored as \(restored)")
            return
        }
        for e in events[3_000...] { add(resumed, e) }
        // 56,000 s of log time is 2.9 landmark periods of 19,200 s: the landmark moved after the checkpoint.
        #expect(first.snapshot().landmark != resumed.snapshot().landmark)
        #expect(resumed.snapshot().landmark == whole.snapshot().landmark)
        let a = resumed.ranked(limit: 10), b = whole.ranked(limit: 10)
        #expect(a.map(\.key) == b.map(\.key))
        for (x, y) in zip(a, b) { #expect(abs((x.score ?? 0) - (y.score ?? 0)) <= 1e-9 * (y.score ?? 1)) }
    }
}
