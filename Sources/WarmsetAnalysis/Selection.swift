import WarmsetModel
import WarmsetSketch

/// How the warm set was chosen, and how much of the traffic the top keys cover.
public struct SelectionSummary: Codable, Sendable, Equatable {
    /// One point of the coverage curve.
    public struct Point: Codable, Sendable, Equatable {
        /// The top k keys.
        public var top: Int
        /// The share of the counted weight they cover: exact, or in sketch mode an upper bound
        /// (estimates never undercount; past the candidates tracked, each further key adds at
        /// most the miss bound). Nil when unknown.
        public var share: Double?
        /// In sketch mode, a lower bound: the tracked keys' estimates minus ε·N each. The true
        /// share lies between `lowerShare` and `share`.
        public var lowerShare: Double?
    }

    /// The share of counted weight covered by the top 10, 100, 1k, 10k and 100k keys.
    public var curve: [Point]
    /// True when the shares come from sketch estimates (upper bounds), not exact counts.
    public var fromEstimates: Bool
    /// The rule that ended the list: `top`, `coverage`, `budget`, `min-count` or `all keys`.
    public var endedBy: String
    /// The rules given, in words, e.g. `--coverage 0.9, --top 1000`.
    public var rules: String
    /// The share covered by the chosen keys (from estimates in sketch mode).
    public var coverage: Double
    /// The sum of the chosen keys' mean body sizes, in bytes.
    public var bytes: Int64
    /// A warning when a rule could not be met, e.g. --coverage needing more than --top keys.
    public var warning: String?
}

/// Chooses the warm set from the ranked keys: `--min-count`, `--coverage`, `--budget` and
/// `--top` each cut the ranked list, and the shortest cut wins.
public enum Selection {
    /// The points of the coverage curve.
    public static let curveTops = [10, 100, 1_000, 10_000, 100_000]

    /// The chosen keys and the summary.
    /// - Complexity: O(k log k) for the k keys tracked.
    static func choose(
        from counter: any KeyCounter, stats: CounterStats, configuration c: AnalysisConfiguration
    ) -> (keys: [RankedKey], summary: SelectionSummary) {
        let every = stats.exact || stats.missBound == 0
        let poolLimit = c.candidatesOnly ? stats.tracked : max(c.top, stats.exact ? curveTops.last ?? 0 : stats.tracked)
        // Past --top only the counts count (the curve, the coverage and budget warnings): the
        // keys chosen are at most the first `c.top`.
        let pool = counter.ranked(limit: poolLimit, named: c.candidatesOnly ? poolLimit : c.top)
        let curve = curvePoints(pool, stats: stats, everyKeyTracked: every)
        if c.candidatesOnly {
            return (pool, SelectionSummary(
                curve: curve, fromEstimates: !stats.exact, endedBy: "all keys", rules: "every candidate", coverage: 0, bytes: 0))
        }
        return choose(pool, total: stats.weightTotal, configuration: c, curve: curve, fromEstimates: !stats.exact)
    }

    /// The shares of the curve.
    static func curvePoints(_ pool: [RankedKey], stats: CounterStats, everyKeyTracked: Bool) -> [SelectionSummary.Point] {
        let total = stats.weightTotal
        var points: [SelectionSummary.Point] = []
        var sum = 0.0
        var lower = 0.0
        var index = 0
        for top in curveTops {
            while index < min(top, pool.count) {
                sum += pool[index].rankValue
                lower += max(pool[index].rankValue - stats.errorBoundWeight, 0)
                index += 1
            }
            guard total > 0 else {
                points.append(.init(top: top, share: nil, lowerShare: nil))
                continue
            }
            if stats.exact {
                let known = top <= pool.count || everyKeyTracked
                points.append(.init(top: top, share: known ? min(sum / total, 1) : nil, lowerShare: nil))
            } else {
                // Keys past the candidates each have a true weight of at most the miss bound.
                let untracked = Double(max(top - pool.count, 0)) * stats.missBound
                points.append(.init(top: top, share: min((sum + untracked) / total, 1), lowerShare: min(lower / total, 1)))
            }
        }
        return points
    }

    /// Cuts a ranked list by the configuration's rules.
    /// - Complexity: O(n).
    public static func choose(
        _ pool: [RankedKey], total: Double, configuration c: AnalysisConfiguration, curve: [SelectionSummary.Point] = [],
        fromEstimates: Bool = false
    ) -> (keys: [RankedKey], summary: SelectionSummary) {
        var end = pool.count
        var endedBy = "all keys"
        var warning: String?
        var rules: [String] = []
        func cut(_ candidate: Int, _ rule: String) {
            if candidate < end {
                end = candidate
                endedBy = rule
            }
        }
        if let minCount = c.minCount {
            rules.append("--min-count \(format(minCount))")
            cut(pool.firstIndex { $0.rankValue < minCount } ?? pool.count, "min-count")
        }
        if let coverage = c.coverage {
            rules.append("--coverage \(format(coverage))")
            let target = coverage * total
            var sum = 0.0
            var reached: Int?
            for (i, key) in pool.enumerated() {
                sum += key.rankValue
                if sum >= target * (1 - 1e-12) {
                    reached = i + 1
                    break
                }
            }
            if let reached {
                cut(reached, "coverage")
                if reached > c.top {
                    warning = "--coverage \(format(coverage)) needs \(reached) keys, more than --top \(c.top); raise --top to reach it"
                }
            } else {
                let share = total > 0 ? sum / total : 0
                warning =
                    "--coverage \(format(coverage)) was not reached: the \(pool.count) keys tracked cover \(percent(share)); raise --top to track more"
            }
        }
        if let budget = c.budgetBytes {
            rules.append("--budget \(budget) bytes")
            var used: Int64 = 0
            var fits = pool.count
            for (i, key) in pool.enumerated() {
                let size = Int64(clamping: key.meanBytes)
                if used + size > budget {
                    fits = i
                    break
                }
                used += size
            }
            cut(fits, "budget")
            if fits == pool.count && fits > c.top {
                warning = (warning.map { $0 + "; " } ?? "") + "--budget was not filled by --top \(c.top) keys"
            }
        }
        rules.append("--top \(c.top)")
        cut(c.top, "top")
        let keys = Array(pool.prefix(end))
        let covered = keys.reduce(0.0) { $0 + $1.rankValue }
        let bytes = keys.reduce(Int64(0)) { $0 + Int64(clamping: $1.meanBytes) }
        return (keys, SelectionSummary(
            curve: curve, fromEstimates: fromEstimates, endedBy: endedBy, rules: rules.joined(separator: ", "),
            coverage: total > 0 ? min(covered / total, 1) : 0, bytes: bytes, warning: warning))
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func percent(_ share: Double) -> String {
        let tenths = (share * 1000).rounded() / 10
        return "\(tenths)%"
    }
}

extension SelectionSummary {
    /// The coverage curve in words, e.g. `top 10 47.5%, top 100 61.2%–63.0%`: the rows for at
    /// most `keysKnown` keys (past them a row only restates the bounds), or the first row when
    /// fewer keys are known than it counts.
    ///
    /// A row is one share when both ends of its range print the same; otherwise the range.
    /// Both ends only grow from row to row, and so do their printed values: a row never shows
    /// less than the one before.
    public func coverageText(keysKnown: Int) -> String {
        var rows = curve.filter { $0.top <= keysKnown }
        if rows.isEmpty, let first = curve.first { rows = [first] }
        return rows.map { point in
            let label = point.top >= 1000 ? "\(point.top / 1000)k" : "\(point.top)"
            guard let share = point.share else { return "top \(label) n/a" }
            let upper = Format.percent(share * 100)
            if let lowerShare = point.lowerShare, case let lower = Format.percent(lowerShare * 100), lower != upper {
                return "top \(label) \(lower)–\(upper)"
            }
            return "top \(label) \(upper)"
        }.joined(separator: ", ")
    }
}

extension AnalysisSummary {
    /// How many keys the counts are known for: every key counted in exact mode, the
    /// candidates tracked in sketch mode.
    public var keysKnown: Int {
        if counting.mode == "exact" { return Int(distinctKeys ?? 0) }
        return counting.candidates ?? 0
    }
}
