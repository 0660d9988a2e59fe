import WarmsetModel
import Testing
import WarmsetGenerator
@testable import WarmsetSketch

@Suite("Sketch and counting")
struct SketchTests {
    static func withKey<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var key = Array("/products/\(i)".utf8)
        return key.withUnsafeMutableBytes { body(UnsafeRawBufferPointer($0)) }
    }

    @Test("estimates never fall below the truth and stay within ε·N on a seeded Zipf stream", arguments: [0.8, 1.0, 1.2])
    func boundsOnZipf(skew: Double) {
        let seed: UInt64 = 42
        var random = SeededRandom(seed: seed)
        let keys = 50_000
        let zipf = ZipfSampler(count: keys, exponent: skew)
        // A deliberately small sketch (4 × 2^12), so collisions happen and the bound is exercised.
        let parameters = SketchParameters(depth: 4, widthLog2: 12)
        let sketch = SketchCounter(parameters: parameters, top: 100)
        let exact = ExactCounter()
        var truth = [Int](repeating: 0, count: keys)
        for _ in 0..<300_000 {
            let k = zipf.sample(&random)
            truth[k] += 1
            Self.withKey(k) { key in
                sketch.add(key: key, path: key, bytes: 100)
                exact.add(key: key, path: key, bytes: 100)
            }
        }
        let bound = sketch.sketch.errorBound
        #expect(bound == UInt64((parameters.epsilon * 300_000).rounded(.up)))
        var violations = 0
        for k in 0..<keys where truth[k] > 0 {
            let estimate = Self.withKey(k) { UInt64(sketch.sketch.estimate(KeyHash.hash($0, seed: parameters.seed))) }
            #expect(estimate >= UInt64(truth[k]), "seed \(seed) key \(k)")
            if estimate > UInt64(truth[k]) + bound { violations += 1 }
        }
        // The bound holds for each key with probability 1 - δ (δ = e^-4 ≈ 1.8%).
        let seen = truth.filter { $0 > 0 }.count
        #expect(Double(violations) <= parameters.delta * Double(seen), "seed \(seed): \(violations) of \(seen) over the bound")

        // Top-100: where the true counts are well separated (more than ε·N from the 100th), the sets agree.
        let exactTop = exact.ranked(limit: 100)
        let sketchTop = Set(sketch.ranked(limit: 100).map(\.key))
        let hundredth = exactTop.last?.count ?? 0
        for entry in exactTop where entry.count > hundredth + bound {
            #expect(sketchTop.contains(entry.key), "seed \(seed): \(entry.key) (\(entry.count)) missing from the sketch's top 100")
        }
        let exactCounts = Dictionary(uniqueKeysWithValues: exact.ranked(limit: keys).map { ($0.key, $0.count) })
        for entry in sketch.ranked(limit: 100) {
            let trueCount = exactCounts[entry.key] ?? 0
            #expect(entry.count >= trueCount && entry.count <= trueCount + bound, "seed \(seed): \(entry.key)")
        }
    }

    @Test("a big enough sketch is exact on a small stream, and ties rank by key")
    func exactWhenRoomy() {
        let sketch = SketchCounter(parameters: .default, top: 3)
        for (key, n) in [("/b", 5), ("/a", 5), ("/c", 7), ("/d", 1)] {
            for _ in 0..<n {
                var bytes = Array(key.utf8)
                bytes.withUnsafeMutableBytes { sketch.add(key: UnsafeRawBufferPointer($0), path: UnsafeRawBufferPointer($0), bytes: 10) }
            }
        }
        let top = sketch.ranked(limit: 3)
        #expect(top.map(\.key) == ["/c", "/a", "/b"])
        #expect(top.map(\.count) == [7, 5, 5])
        #expect(top[0].meanBytes == 10)
    }

    /// The counter holds each key and path until it counts them, two adds later (copied in
    /// pieces of 8 bytes for 8…16 bytes, whole otherwise): every length from 0 to 40, key and
    /// path of different lengths, come back as they went in.
    @Test("keys and paths of every length come back whole")
    func keysOfEveryLength() {
        let sketch = SketchCounter(parameters: .default, top: 100)
        var want: [String: String] = [:]
        for length in 0...40 {
            let key = String((0..<length).map { Character(UnicodeScalar(UInt8(0x61 + ($0 * 7 + length) % 26))) })
            let path = "/" + String(repeating: "p", count: (length * 3) % 23) + "\(length)"
            want["k" + key] = path
            var keyBytes = Array(("k" + key).utf8), pathBytes = Array(path.utf8)
            keyBytes.withUnsafeMutableBytes { k in
                pathBytes.withUnsafeMutableBytes { p in
                    sketch.add(key: UnsafeRawBufferPointer(k), path: UnsafeRawBufferPointer(p), bytes: 1)
                }
            }
        }
        let ranked = sketch.ranked(limit: 100)
        #expect(ranked.count == want.count)
        for entry in ranked { #expect(want[entry.key] == entry.path, "\(entry.key)") }
    }

    /// Merging adds counter by counter (four at a time for request counts) and stops at the
    /// largest count instead of wrapping to a small one.
    @Test("merged counters add, and saturate instead of wrapping")
    func mergeSaturates() {
        let parameters = SketchParameters(depth: 4, widthLog2: 10)
        func hash(_ key: String) -> Hash128 {
            var bytes = Array(key.utf8)
            return bytes.withUnsafeMutableBytes { KeyHash.hash(UnsafeRawBufferPointer($0), seed: parameters.seed) }
        }
        let a = CountMinSketch<UInt32>(parameters: parameters, conservative: false)
        let b = CountMinSketch<UInt32>(parameters: parameters, conservative: false)
        _ = a.add(hash("big"), weight: .max - 3)
        _ = b.add(hash("big"), weight: 10)
        for i in 0..<500 {
            _ = a.add(hash("k\(i)"), weight: UInt32(i))
            _ = b.add(hash("k\(i)"), weight: 7)
        }
        a.add(contentsOf: b)
        #expect(a.estimate(hash("big")) == .max)
        for i in 0..<500 { #expect(a.estimate(hash("k\(i)")) >= UInt32(i) + 7) }
        #expect((0..<500).filter { a.estimate(hash("k\($0)")) == UInt32($0) + 7 }.count > 400)  // most are exact
    }

    @Test("the hash is stable across runs and processes (it is saved and merged)")
    func stableHash() {
        var bytes = Array("/products/1".utf8)
        let h = bytes.withUnsafeMutableBytes { KeyHash.hash(UnsafeRawBufferPointer($0), seed: 1) }
        var again = Array("/products/1".utf8)
        #expect(again.withUnsafeMutableBytes { KeyHash.hash(UnsafeRawBufferPointer($0), seed: 1) } == h)
        #expect(again.withUnsafeMutableBytes { KeyHash.hash(UnsafeRawBufferPointer($0), seed: 2) } != h)
        // Different lengths and every tail length give different hashes.
        var seen = Set<Hash128>()
        for n in 0..<64 {
            var b = [UInt8](repeating: 0x61, count: n)
            seen.insert(b.withUnsafeMutableBytes { KeyHash.hash(UnsafeRawBufferPointer($0), seed: 1) })
        }
        #expect(seen.count == 64)
    }

    @Test("the key table agrees with a dictionary through random inserts and removals")
    func keyTable() {
        var random = SeededRandom(seed: 7)
        let table = KeyTable(expectedCount: 8)
        var reference: [String: Int] = [:]
        for step in 0..<20_000 {
            let key = "k\(random.below(700))"
            var bytes = Array(key.utf8)
            bytes.withUnsafeMutableBytes { raw in
                let keyBytes = UnsafeRawBufferPointer(raw)
                let hash = KeyHash.hash(keyBytes, seed: 3)
                if random.below(3) == 0 {
                    if let index = table.find(hash, key: keyBytes) { table.remove(at: index) }
                    reference[key] = nil
                } else {
                    let index = table.find(hash, key: keyBytes) ?? table.insert(hash, key: keyBytes, path: keyBytes)
                    table.record(index, count: 1, bytes: 0)
                    reference[key, default: 0] += 1
                }
            }
            if step % 1000 == 0 {
                #expect(table.count == reference.count, "step \(step)")
            }
        }
        var fromTable: [String: Int] = [:]
        for entry in table.entries {
            fromTable[String(decoding: table.key(of: entry), as: UTF8.self)] = Int(entry.count)
            #expect(table.key(of: entry).elementsEqual(table.path(of: entry)))
        }
        #expect(fromTable == reference)
    }

    @Test("sizing from ε/δ and from memory")
    func sizing() {
        let p = SketchParameters.forError(epsilon: 0.0001, delta: 0.02)
        #expect(p.width >= 27_183 && p.depth == 4)
        #expect(p.epsilon <= 0.0001)
        #expect(SketchParameters.forMemory(bytes: 16 << 20) == SketchParameters(depth: 4, widthLog2: 20))
        #expect(SketchParameters.default.memoryBytes == 8 << 20)
    }
}
