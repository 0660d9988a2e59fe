import WarmsetAnalysis
import Foundation
import WarmsetWarm

/// The warm summary on stderr.
enum WarmSummaryPrinter {
    static func print(_ r: WarmReport) {
        var lines: [String] = []
        // The headline counts the keys gone through, not the keys warmed: the lines below say
        // how many of them were warmed, present or failed.
        let what = r.dryRun ? "checked \(Format.count(r.total)) keys in" : "\(Format.count(r.total)) keys to"
        lines.append(
            "warmset: \(what) \(r.target) from \(r.source) in \(Format.seconds(r.elapsedSeconds)), \(Format.count(Int(r.keysPerSecond))) keys/s")
        if r.dryRun {
            lines.append("  would warm  \(Format.count(r.wouldWarm)) (dry run: nothing fetched, nothing written)")
        } else if r.http != nil {
            lines.append("  warmed      \(Format.count(r.warmed)) (a 2xx, or a 3xx not followed)")
        } else {
            lines.append("  warmed      \(Format.count(r.warmed)) (\(Format.bytes(r.bytesWritten)) written)")
        }
        if r.http == nil { lines.append("  present     \(Format.count(r.present)) (left as they were)") }
        lines.append("  failed      \(Format.count(r.failed))")
        for (reason, n) in r.failedByReason.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            let example = r.failures.first { $0.reason == reason }.map { "  e.g. \($0.key): \($0.detail)" } ?? ""
            lines.append("              \(Format.count(n).padding(toLength: 10, withPad: " ", startingAt: 0)) \(reason)\(example)")
        }
        let events = r.counters.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }
        if !events.isEmpty { lines.append("  events      \(events.joined(separator: ", "))") }
        if let http = r.http {
            let codes = http.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", ")
            lines.append("  responses   \(Format.count(http.responses)) (\(codes.isEmpty ? "none" : codes)), \(Format.bytes(http.bytesReceived)) received")
            lines.append(String(format: "  latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", http.latencyP50Ms, http.latencyP90Ms, http.latencyP99Ms, http.latencyMaxMs))
            lines += httpCacheLines(http)
        }
        if r.unaccounted != 0 { lines.append("  BUG: \(r.unaccounted) keys have no outcome") }
        Terminal.write(lines.joined(separator: "\n") + "\n")
    }
}

extension WarmSummaryPrinter {
    static let statusHeaders = "X-Cache-Status, X-Cache, CF-Cache-Status or Age"

    /// `hit 3, miss 1`, sorted by name.
    static func counts(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", ")
    }

    /// The cache status of the responses, each node's counts, and what `--verify` found.
    static func httpCacheLines(_ http: WarmReport.HTTPStats) -> [String] {
        var lines: [String] = []
        let told = http.cacheStatus.filter { $0.key != "unknown" }.values.reduce(0, +)
        let why = told == 0 && http.responses > 0 ? " (no \(statusHeaders) header: the cache does not tell)" : " (from \(statusHeaders))"
        lines.append("  cache       \(counts(http.cacheStatus))\(why)")
        for node in http.nodes ?? [] {
            lines.append(
                "  node        \(node.node): \(Format.count(node.requests)) requests, \(Format.count(node.ok)) ok, \(Format.count(node.failed)) failed; status \(counts(node.statusCounts)); cache \(counts(node.cacheStatus))")
        }
        if let v = http.verify {
            let what = "  verify      \(Format.count(v.keys)) keys again, \(Format.count(v.requests)) requests: "
            if v.requests == 0 {
                lines.append("  verify      nothing to verify: no key was warmed")
            } else if v.requests > 0 && v.unknown == v.requests - v.failed && v.unknown > 0 {
                lines.append(what + "hits cannot be told: the cache sent no \(statusHeaders) header (\(Format.count(v.failed)) failed)")
            } else {
                lines.append(
                    what + "\(Format.percent(v.hitShare * 100)) hits (hit \(Format.count(v.hits)), miss \(Format.count(v.misses)), other \(Format.count(v.other)), unknown \(Format.count(v.unknown)), failed \(Format.count(v.failed)))")
            }
        }
        return lines
    }
}

/// A one-line warm progress on stderr.
final class WarmProgressLine: @unchecked Sendable {
    // Only the warmer's progress thread calls update; finish runs after that thread stopped.
    private var drawn = false

    func update(_ p: WarmProgress) {
        let fraction = p.total > 0 ? Double(p.done) / Double(p.total) : 1
        let rate = p.elapsed > 0 ? Double(p.done) / p.elapsed : 0
        Terminal.write(
            "\r\(Format.percent(fraction * 100))  \(Format.count(p.done))/\(Format.count(p.total)) keys  warmed \(Format.count(p.warmed))  present \(Format.count(p.present))  failed \(Format.count(p.failed))  \(Format.count(Int(rate))) keys/s\u{1B}[K")
        drawn = true
    }

    func finish() {
        if drawn { Terminal.write("\r\u{1B}[K") }
    }
}
