import WarmsetModel
import Testing
import WarmsetAnalysis
import WarmsetSketch

@Suite("Choosing the warm set")
struct SelectionTests {
    /// Ten keys with counts 40, 20, 10, 10, 5, 5, 4, 3, 2, 1 (total 100) and sizes 1000·(i+1).
    static let pool: [RankedKey] = [40, 20, 10, 10, 5, 5, 4, 3, 2, 1].enumerated().map { i, count in
        RankedKey(key: "k\(i)", count: UInt64(count), path: "/k\(i)", observed: UInt64(count), meanBytes: UInt64(1000 * (i + 1)))
    }

    static func choose(_ edit: (inout AnalysisConfiguration) -> Void) -> (keys: [RankedKey], summary: SelectionSummary) {
        var c = AnalysisConfiguration()
        c.top = 100
        edit(&c)
        return Selection.choose(Self.pool, total: 100, configuration: c)
    }

    @Test("--coverage takes the smallest prefix reaching the share")
    func coverage() {
        #expect(Self.choose { $0.coverage = 0.5 }.keys.count == 2)  // 40 + 20 = 60 ≥ 50
        #expect(Self.choose { $0.coverage = 0.6 }.keys.count == 2)  // exactly 60
        #expect(Self.choose { $0.coverage = 0.61 }.keys.count == 3)
        #expect(Self.choose { $0.coverage = 1.0 }.keys.count == 10)
        let capped = Self.choose { $0.coverage = 0.9; $0.top = 3 }
        #expect(capped.keys.count == 3)
        #expect(capped.summary.endedBy == "top")
        #expect(capped.summary.warning?.contains("needs 6 keys, more than --top 3") == true)
    }

    @Test("--budget stops at the first key that would overflow it")
    func budget() {
        // Sizes 1000, 2000, 3000, …: 1000 + 2000 + 3000 = 6000 fits in 6500, + 4000 does not.
        let chosen = Self.choose { $0.budgetBytes = 6500 }
        #expect(chosen.keys.map(\.key) == ["k0", "k1", "k2"])
        #expect(chosen.summary.bytes == 6000)
        #expect(chosen.summary.endedBy == "budget")
        #expect(Self.choose { $0.budgetBytes = 999 }.keys.isEmpty)
    }

    @Test("--min-count, and the shortest cut wins")
    func minCountAndCombination() {
        #expect(Self.choose { $0.minCount = 5 }.keys.count == 6)
        let both = Self.choose { $0.minCount = 5; $0.coverage = 0.7 }
        #expect(both.keys.count == 3)
        #expect(both.summary.endedBy == "coverage")
        #expect(both.summary.coverage == 0.7)
        let all = Self.choose { _ in }
        #expect(all.keys.count == 10 && all.summary.endedBy == "all keys")
    }

    @Test("weighted scores rank and cover by score, not by count")
    func weighted() {
        var pool = Self.pool
        for i in pool.indices { pool[i].score = Double(10 - i) * 0.5 }  // 5, 4.5, …, 0.5: total 27.5
        var c = AnalysisConfiguration()
        c.coverage = 0.5
        let chosen = Selection.choose(pool, total: 27.5, configuration: c)
        #expect(chosen.keys.count == 4)  // 5 + 4.5 + 4 + 3.5 = 17 ≥ 13.75; three give 13.5
    }
}
