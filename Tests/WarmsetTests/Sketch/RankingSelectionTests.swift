import Testing
import WarmsetModel
@testable import WarmsetSketch

/// The end of a run orders only what it needs: `selectFirst`/`sortFirst` give the first k of the
/// sorted order, the ranking compares the keys of equal counts by one word before their bytes
/// (`KeyTable.orderWord`), and the miss bound a cut back leaves is the one the sketch gives.
@Suite("Sketch: ranking and cutting back without sorting everything")
struct RankingSelectionTests {
    /// Pairs of a small primary value (many ties) and a unique tiebreak: a strict total order.
    static func items(_ n: Int, seed: UInt64) -> [(Int, Int)] {
        var rng = SplitMix(seed: seed)
        var items = (0..<n).map { i in (Int(rng.next() % 7), i) }
        for i in items.indices.reversed() where i > 0 { items.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return items
    }

    static func before(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 != b.0 ? a.0 > b.0 : a.1 < b.1 }

    @Test(arguments: [0, 1, 2, 3, 10, 100, 5_000])
    func theFirstKAreThoseOfTheSortedOrder(n: Int) {
        let sorted = Self.items(n, seed: UInt64(n) + 1).sorted(by: Self.before)
        for k in Set([0, 1, 2, n / 3, n / 2, n - 1, n, n + 5]) where k >= 0 {
            var sortedFirst = Self.items(n, seed: UInt64(n) + 1)
            sortedFirst.sortFirst(k, by: Self.before)
            #expect(sortedFirst.prefix(k).map(\.1) == sorted.prefix(k).map(\.1), "n \(n), k \(k)")
            var selected = Self.items(n, seed: UInt64(n) + 1)
            selected.selectFirst(k, by: Self.before)
            #expect(Set(selected.prefix(k).map(\.1)) == Set(sorted.prefix(k).map(\.1)), "n \(n), k \(k)")
            #expect(Set(selected.map(\.1)) == Set(sorted.map(\.1)), "n \(n), k \(k): nothing lost")
        }
    }

    /// Already sorted, reversed and all-equal primaries: the inputs that make a plain quickselect
    /// slow are still answered right (the fallback to a sort bounds the time).
    @Test func orderedInputsAreSelectedRight() {
        let n = 20_000
        for input in [(0..<n).map { ($0, $0) }, (0..<n).map { (n - $0, $0) }, (0..<n).map { (5, $0) }] {
            let sorted = input.sorted(by: Self.before)
            var got = input
            got.sortFirst(n / 2, by: Self.before)
            #expect(got.prefix(n / 2).map(\.1) == sorted.prefix(n / 2).map(\.1))
        }
    }

    /// Ordering keys by the word after their shared prefix, then by their bytes, is the byte
    /// order: keys that are prefixes of others, keys that end inside the word, bytes above 0x7F.
    @Test(arguments: [UInt64(1), 2, 3])
    func theOrderWordAgreesWithTheBytes(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let alphabet: [UInt8] = Array("0129az:/_".utf8) + [0x7F, 0x80, 0xFF]
        let prefix = Array("product:".utf8).prefix(Int(seed) * 3)
        let keys: [[UInt8]] = (0..<3_000).map { _ in
            Array(prefix) + (0..<Int(rng.next() % 14)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        }
        let shared = keys.dropFirst().reduce(keys[0].count) { n, key in
            zip(keys[0].prefix(n), key).prefix { $0 == $1 }.count
        }
        #expect(shared >= prefix.count)
        func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            a.withUnsafeBytes { x in b.withUnsafeBytes { y in KeyTable.precedes(x, y) } }
        }
        func word(_ key: [UInt8]) -> UInt64 { key.withUnsafeBytes { KeyTable.orderWord($0, from: shared) } }
        let byBytes = keys.sorted(by: precedes)
        let byWord = keys.sorted { a, b in word(a) != word(b) ? word(a) < word(b) : precedes(a, b) }
        #expect(byWord == byBytes)
    }

    /// A table's shared key prefix: the longest prefix of every key, 0 for none or no keys.
    @Test func theSharedPrefixOfATable() {
        func shared(_ keys: [String]) -> Int {
            let table = KeyTable(expectedCount: 8)
            for key in keys {
                var bytes = Array(key.utf8)
                bytes.withUnsafeMutableBytes { raw in
                    let key = UnsafeRawBufferPointer(raw)
                    _ = table.insert(KeyHash.hash(key, seed: 1), key: key, path: key)
                }
            }
            return table.sharedKeyPrefix()
        }
        #expect(shared([]) == 0)
        #expect(shared(["product:12"]) == 10)
        #expect(shared(["product:12", "product:13", "product:1"]) == 9)
        #expect(shared(["product:12", "user:1"]) == 0)
    }

    /// After a merge cuts the candidates back, `missBound` answers from the cut (no pass over the
    /// candidates) exactly what querying the sketch gives; after one more request it queries again.
    @Test func theMissBoundAfterACutBackIsTheQueriedOne() {
        let parameters = SketchParameters(depth: 4, widthLog2: 12)
        let a = SketchCounter(parameters: parameters, top: 300)
        let b = a.emptyCopy()
        SketchAbsorbTests.fill(a, seed: 1, requests: 60_000)
        SketchAbsorbTests.fill(b, seed: 2, requests: 45_000)
        a.absorb(b)
        let core = a.core
        #expect(core.turnedAway && core.missBound() > 0)
        #expect(core.missBound() == core.queriedMissBound())
        SketchAbsorbTests.fill(a, seed: 3, requests: 1)
        #expect(a.core.missBound() == a.core.queriedMissBound())
    }

    /// The radix order is the comparison order (count descending, then word ascending), and items
    /// equal in both keep their input order: counts and words that differ in low bytes only, in
    /// high bytes only, in many bytes, and shared by all.
    @Test(arguments: [0, 1, 2, 17, 3_000])
    func theRadixOrderIsTheComparisonOrder(n: Int) {
        var rng = SplitMix(seed: UInt64(n) &+ 11)
        let shapes: [(UInt64) -> UInt64] = [{ $0 % 5 }, { ($0 % 3) << 56 }, { $0 }, { _ in 42 }]
        for countShape in shapes {
            for wordShape in shapes {
                let items = (0..<n).map { _ in (count: countShape(rng.next()), word: wordShape(rng.next())) }
                let order = CountOrder.permutation(n, count: { items[$0].count }, word: { items[$0].word }).map(Int.init)
                let expected = (0..<n).sorted { a, b in
                    if items[a].count != items[b].count { return items[a].count > items[b].count }
                    if items[a].word != items[b].word { return items[a].word < items[b].word }
                    return a < b
                }
                #expect(order == expected)
            }
        }
    }

    /// Keys of equal counts that the order word cannot tell apart (the same 8 bytes after the
    /// shared prefix) are ranked by their bytes, after the radix order, as `ranksBefore` orders them.
    @Test func keysAlikeInTheirOrderWordAreRankedByTheirBytes() {
        let counter = SketchCounter(parameters: SketchParameters(depth: 4, widthLog2: 14), top: 100)
        let keys = ["k:aaaaaaaa-3", "k:aaaaaaaa-1", "k:aaaaaaaa-2", "k:bbbbbbbb", "k:aaaaaaa", "k:aaaaaaaa", "k:zz"]
        for (i, key) in keys.enumerated() {
            for _ in 0..<(i == keys.count - 1 ? 5 : 3) {
                key.utf8CString.withUnsafeBytes { raw in
                    let bytes = UnsafeRawBufferPointer(rebasing: raw.dropLast())
                    counter.add(key: bytes, path: bytes, bytes: 1)
                }
            }
        }
        let ranked = counter.ranked(limit: 10).map(\.key)
        #expect(ranked == ["k:zz", "k:aaaaaaa", "k:aaaaaaaa", "k:aaaaaaaa-1", "k:aaaaaaaa-2", "k:aaaaaaaa-3", "k:bbbbbbbb"])
        #expect(ranked == ranked.sorted { a, b in
            let ca = a == "k:zz" ? 5 : 3, cb = b == "k:zz" ? 5 : 3
            return ca != cb ? ca > cb : a.utf8.lexicographicallyPrecedes(b.utf8)
        })
    }
}
