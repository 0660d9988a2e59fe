import Testing
import WarmsetGenerator
import WarmsetModel
@testable import WarmsetSketch

/// `PromotedCells`, the 16-bit request-count cells promoted on overflow, against a plain array
/// of 32-bit counts doing the same operations: the values must be the same, across the promotion
/// boundary, through merges and up to saturation.
@Suite("Promoted 16-bit cells")
struct PromotedCellsTests {
    @Test("random raises, additions and merges give the counts a 32-bit array gives", arguments: [UInt64(7), 8, 9])
    func agreesWithWideCounts(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let count = 4096
        let cells = PromotedCells(count: count)
        let other = PromotedCells(count: count)
        var reference = [UInt32](repeating: 0, count: count)
        var otherReference = [UInt32](repeating: 0, count: count)
        // Steps around the boundary (0xFFFF) and far above it, and small ones; enough of them to
        // promote hundreds of cells, so the side table grows several times.
        let steps: [UInt32] = [1, 2, 100, 30_000, 65_534, 65_535, 65_536, 1 << 20, .max - 5]
        for _ in 0..<20_000 {
            let i = random.below(count)
            let step = steps[random.below(steps.count)]
            if random.below(2) == 0 {
                reference[i] = reference[i].saturatingAdd(step)
                cells[i] = cells[i].saturatingAdd(step)
            } else {
                otherReference[i] = max(otherReference[i], step)
                if other[i] < step { other[i] = step }
            }
        }
        for i in 0..<count {
            #expect(cells[i] == reference[i], "seed \(seed), cell \(i)")
            #expect(other[i] == otherReference[i], "seed \(seed), cell \(i)")
        }
        cells.add(contentsOf: other)
        for i in 0..<count {
            #expect(cells[i] == reference[i].saturatingAdd(otherReference[i]), "seed \(seed), merged cell \(i)")
        }
        #expect(cells.zeros(count) == reference.indices.filter { reference[$0] == 0 && otherReference[$0] == 0 }.count)
    }

    @Test("a depth-4 sketch's one-pass update gives the counts and estimates of the row-by-row one", arguments: [UInt64(11), 12, 13])
    func fourRowsAgreeWithGeneralUpdate(seed: UInt64) {
        // A narrow sketch (64 cells a row) over few keys, so keys share cells, and weights that
        // take cells to the marker, over it and to saturation: every branch of `conservativeAdd4`
        // and of its fallback. The reference is conservative update on 32-bit arrays, row by row.
        var random = SeededRandom(seed: seed)
        let parameters = SketchParameters(depth: 4, widthLog2: 6, seed: seed)
        let sketch = CountMinSketch<UInt32>(parameters: parameters)
        var reference = [UInt32](repeating: 0, count: 4 * 64)
        let weights: [UInt32] = [1, 1, 1, 2, 64, 1_000, 20_000, 65_534, 65_535, 70_000, .max - 3]
        for step in 0..<5_000 {
            let key = UInt64(random.below(40))
            let hash = Hash128(low: key &* 0x9E37_79B9_7F4A_7C15, high: (key &+ 1) &* 0xC2B2_AE3D_27D4_EB4F)
            let weight = weights[random.below(step < 4_000 ? 4 : weights.count)]
            let indexes = (0..<4).map { sketch.index(hash, row: $0) }
            let target = indexes.map { reference[$0] }.min()!.saturatingAdd(weight)
            for i in indexes where reference[i] < target { reference[i] = target }
            #expect(sketch.add(hash, weight: weight) == target, "seed \(seed), step \(step)")
        }
        for i in reference.indices {
            #expect(sketch.cell(row: i / 64, column: i % 64) == reference[i], "seed \(seed), cell \(i)")
        }
    }

    @Test("a sketch's request counts cross 65,535 and survive a snapshot and a merge whole")
    func countsBeyondSixteenBits() throws {
        let parameters = SketchParameters(depth: 4, widthLog2: 10)
        let sketch = SketchCounter(parameters: parameters, top: 2)
        var key = Array("/products/1".utf8)
        key.withUnsafeMutableBytes { key in
            let bytes = UnsafeRawBufferPointer(key)
            sketch.add(key: bytes, path: bytes, count: 65_534, bytes: 0)
            for _ in 0..<3 { sketch.add(key: bytes, path: bytes, bytes: 0) }  // across the boundary one at a time
            sketch.add(key: bytes, path: bytes, count: 100_000, bytes: 0)
        }
        #expect(sketch.ranked(limit: 1).first?.count == 165_537)
        let restored = try KeyCounting.restore(sketch.snapshot(), name: "one")
        try restored.merge(sketch.snapshot(), name: "two")
        #expect(restored.keyCounter.ranked(limit: 1).first?.count == 331_074)
    }
}
