import Testing
import WarmsetGenerator
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
