import Foundation

/// The backtest's output formats: a table for people, tsv and json for scripts.
public enum BacktestOutputFormat: String, Sendable, CaseIterable {
    case table, tsv, json
}

extension BacktestResult {
    /// The result in `format`, ending with a newline.
    public func rendered(_ format: BacktestOutputFormat) -> String {
        switch format {
        case .table: return table()
        case .tsv: return tsv()
        case .json: return json()
        }
    }

    /// The tsv columns, in order.
    public static let tsvColumns = ["at", "strategy", "top", "hit_share", "warm_misses", "cold_misses", "oracle_hit_share"]

    /// A header line, then one line per row: `at` in ISO 8601 UTC, shares as fractions.
    func tsv() -> String {
        var out = Self.tsvColumns.joined(separator: "\t") + "\n"
        for row in rows {
            out += [Backtest.iso8601(row.at), row.strategy, String(row.top), Self.fraction(row.hitShare), String(row.warmMisses),
                    String(row.coldMisses), Self.fraction(row.oracleHitShare)].joined(separator: "\t") + "\n"
        }
        return out
    }

    /// `{"rows": [...], "aggregates": [...], "misses_per_minute": [...], "window_seconds": …,
    /// "summary": {...}}`, keys sorted.
    func json() -> String {
        let rowObjects: [[String: Any]] = rows.map { row in
            [
                "at": Backtest.iso8601(row.at), "strategy": row.strategy, "top": row.top, "hit_share": row.hitShare,
                "warm_misses": row.warmMisses, "cold_misses": row.coldMisses, "oracle_hit_share": row.oracleHitShare,
                "requests": row.requests, "hits": row.hits, "warm_set_keys": row.warmSetKeys,
                "time_to_fill_seconds": row.timeToFillSeconds, "best": row.best,
            ]
        }
        let aggregateObjects: [[String: Any]] = aggregates.map { a in
            [
                "strategy": a.strategy, "top": a.top, "mean_hit_share": a.meanHitShare, "worst_hit_share": a.worstHitShare,
                "mean_warm_misses": a.meanWarmMisses, "worst_warm_misses": a.worstWarmMisses,
                "mean_oracle_hit_share": a.meanOracleHitShare, "best": a.best,
            ]
        }
        let boundObjects: [[String: Any]] = sketchBounds.map { b in
            [
                "at": Backtest.iso8601(b.at), "strategy": b.strategy, "error_bound": b.errorBound, "score_total": b.scoreTotal,
                "epsilon": b.epsilon, "delta": b.delta, "memory_bytes": b.memoryBytes,
            ]
        }
        let perMinute: [[String: Any]] = blocks.map { block in
            [
                "at": Backtest.iso8601(block[block.startIndex].at), "cold": block[block.startIndex].coldMissesPerMinute,
                "warm": block.map { ["strategy": $0.strategy, "top": $0.top, "misses": $0.warmMissesPerMinute] as [String: Any] },
            ]
        }
        var object: [String: Any] = [
            "rows": rowObjects, "aggregates": aggregateObjects, "window_seconds": windowSeconds, "misses_per_minute": perMinute,
            "summary": [
                "lines_read": linesRead, "lines_malformed": linesMalformed, "requests_timed": requestsTimed,
                "requests_untimed": requestsUntimed, "distinct_keys": distinctKeys, "oldest": Backtest.iso8601(oldest),
                "newest": Backtest.iso8601(newest), "counting": counting == .exact ? "exact" : "sketch",
            ] as [String: Any],
        ]
        if case .sketch(let bytes) = counting {
            object["sketch"] = ["memory_bytes": bytes, "bounds": boundObjects] as [String: Any]
        }
        // Plain numbers, strings, booleans, arrays and dictionaries only: serialization cannot fail.
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One block per deploy time (and one for the mean and worst), the best strategy starred.
    func table() -> String {
        var out = ""
        for block in blocks {
            let first = block[block.startIndex]
            out += "at \(Backtest.iso8601(first.at)), the next \(BacktestStrategy.duration(windowSeconds)): \(first.requests) requests for \(first.coldMisses) keys (a cold cache misses each once)\n"
            var lines = [["strategy", "top", "keys", "hit share", "warm misses", "oracle", "time to fill"]]
            for row in block {
                lines.append([
                    row.strategy + (row.best ? " *" : ""), String(row.top), String(row.warmSetKeys), Self.percent(row.hitShare),
                    String(row.warmMisses), Self.percent(row.oracleHitShare), Self.elapsed(row.timeToFillSeconds),
                ])
            }
            out += Self.columns(lines) + "\n"
        }
        if !aggregates.isEmpty {
            out += "over \(Set(rows.map(\.at)).count) deploy times\n"
            var lines = [["strategy", "top", "mean hit share", "worst", "mean warm misses", "worst", "mean oracle"]]
            for a in aggregates {
                lines.append([
                    a.strategy + (a.best ? " *" : ""), String(a.top), Self.percent(a.meanHitShare), Self.percent(a.worstHitShare),
                    String(format: "%.1f", a.meanWarmMisses), String(a.worstWarmMisses), Self.percent(a.meanOracleHitShare),
                ])
            }
            out += Self.columns(lines) + "\n"
        }
        out += "* the best strategy at that size; keys: how many the strategy chose (none scored: no request in its history). "
        switch counting {
        case .exact:
            out += "Counting is exact.\n"
        case .sketch(let bytes):
            out += "The history was counted in sketches (\(bytes / 1024) KiB in all), each window exactly: the figures are exact for the keys chosen, and a score may be too high by its bound (probability \(Self.percent(1 - (sketchBounds.first?.delta ?? 0))) to hold):\n"
            var lines = [["at", "strategy", "score bound (ε·N)", "of N"]]
            for b in sketchBounds {
                lines.append([Backtest.iso8601(b.at), b.strategy, String(format: "%.2f", b.errorBound), String(format: "%.1f", b.scoreTotal)])
            }
            out += Self.columns(lines)
        }
        return out
    }

    /// Left-aligned first column, the others right-aligned, two spaces apart.
    private static func columns(_ lines: [[String]]) -> String {
        let widths = (0..<(lines.first?.count ?? 0)).map { c in lines.map { $0[c].count }.max() ?? 0 }
        return lines.map { cells in
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `45s`, `3m24s`, `1h05m`.
    static func elapsed(_ seconds: Int64) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" + String(format: "%02llds", seconds % 60) }
        return "\(seconds / 3600)h" + String(format: "%02lldm", seconds / 60 % 60)
    }

    static func fraction(_ x: Double) -> String { String(format: "%.6f", x) }
    static func percent(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
}
