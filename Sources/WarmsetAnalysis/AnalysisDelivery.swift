#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import WarmsetEmit

/// What a finished analysis writes, and whether the run succeeded: the sketch file, the HTML
/// report, the manifest and the summary JSON, under one policy for damaged input.
///
/// The policy: a result is written only when it can be trusted (every input was read, or
/// `--allow-partial`; malformed lines under `--max-malformed`). An untrusted result writes no
/// file but the summary JSON, which says why. The exit status is decided once, in `deliver`:
/// 0 when the manifest (or the sketch on stdout) was written, or when a warmer takes the warm
/// set instead of stdout; 1 otherwise.
public struct AnalysisDelivery {
    /// Where the manifest goes, and in which form.
    public enum Manifest: Sendable, Equatable {
        /// A manifest (`keys`, `tsv`, `jsonl`) to a file, or stdout for `-`.
        case manifest(ManifestFormat, to: String)
        /// One URL per key (`--output-format urls`): the base URL and each key's path.
        case urls(baseURL: String, to: String)

        /// The file written, `-` for stdout.
        public var path: String {
            switch self {
            case .manifest(_, let path), .urls(_, let path): return path
            }
        }
    }

    /// How the run ended.
    public struct Verdict: Sendable, Equatable {
        /// The exit status: 0 or 1.
        public var status: Int32
        /// True when the manifest (or the sketch on stdout) was written.
        public var written: Bool
        /// True when a warmer may now warm the warm set (`--warm-redis`…).
        public var mayWarm: Bool { status == 0 }
    }

    /// The analysis's configuration (`saveSketch`, `report`, `allowPartial`, `format`).
    public var configuration: AnalysisConfiguration
    /// Where the manifest goes.
    public var manifest: Manifest
    /// `--summary-json`: where the summary's JSON goes.
    public var summaryJSON: String?
    /// True when a warmer takes the warm set afterwards: the manifest is then written only
    /// where `-o` points, not to stdout.
    public var warmsAfterwards: Bool

    /// Describes the outputs of a run.
    public init(configuration: AnalysisConfiguration, manifest: Manifest, summaryJSON: String? = nil, warmsAfterwards: Bool = false) {
        self.configuration = configuration
        self.manifest = manifest
        self.summaryJSON = summaryJSON
        self.warmsAfterwards = warmsAfterwards
    }

    /// Writes what `result` may write and decides the exit status.
    /// - Parameters:
    ///   - say: called with each error or warning sentence (for stderr), in order.
    ///   - summary: called once with the final summary and whether the manifest was written,
    ///     after the files and before the summary JSON (not called when the sketch or the
    ///     report cannot be written: the run ends there).
    /// - Returns: the exit status and whether the manifest was written.
    public func deliver(
        _ result: AnalysisResult, say: (String) -> Void, summary printSummary: (AnalysisSummary, _ written: Bool) -> Void
    ) -> Verdict {
        let failed = Verdict(status: 1, written: false)
        let trusted = result.isTrustworthy(allowPartial: configuration.allowPartial)
        var summary = result.summary
        if trusted, let path = configuration.saveSketch, let sketch = result.sketch {
            do {
                try SketchStore.write(sketch, to: path)
            } catch {
                say("--save-sketch \(error.description)")
                return failed
            }
        }
        if trusted, let path = configuration.report {
            do {
                try ReportFile.write(result, configuration: configuration, to: path)
            } catch {
                say("--report \(error.description)")
                return failed
            }
        }
        let written: Bool
        if trusted && configuration.saveSketch == "-" && manifest.path == "-" {
            written = true  // stdout carries the sketch; the manifest goes only to --output FILE
        } else if trusted && !skipsManifest {
            written = writeManifest(result, say: say)
        } else {
            written = false
            summary.keysEmitted = 0
        }
        printSummary(summary, written)
        if let path = summaryJSON {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try OutputFile.write(Array(try encoder.encode(summary)) + [0x0A], to: path)
            } catch {
                say("--summary-json \(path): \(error)")
                return Verdict(status: 1, written: written)
            }
        }
        if summary.tooManyMalformed {
            let share = summary.linesRead > 0 ? 100 * Double(summary.linesMalformed) / Double(summary.linesRead) : 0
            let first = summary.malformedSamples.first.map { " (first: \($0))" } ?? ""
            say(
                "\(Format.percent(share)) of lines (\(Format.count(summary.linesMalformed)) of \(Format.count(summary.linesRead))) do not match the format '\(configuration.format)'\(first); check --format. No manifest was written")
            return Verdict(status: 1, written: written)
        }
        if summary.partial {
            if configuration.allowPartial {
                say("warning: the result is PARTIAL: \(summary.errors.joined(separator: "; ")). Written anyway (--allow-partial)")
            } else {
                say(
                    "the result is partial, so no manifest was written: \(summary.errors.joined(separator: "; ")). Fix the input, or rerun with --allow-partial to write what was read")
                return Verdict(status: 1, written: written)
            }
        }
        if !written && !skipsManifest { return Verdict(status: 1, written: written) }
        return Verdict(status: 0, written: written)
    }

    /// True when no manifest is written at all: a warmer takes the warm set and `-o` was not given.
    var skipsManifest: Bool { warmsAfterwards && manifest.path == "-" }

    /// Renders and writes the manifest; returns whether it was written.
    private func writeManifest(_ result: AnalysisResult, say: (String) -> Void) -> Bool {
        let bytes: [UInt8]
        switch manifest {
        case .manifest(let format, _):
            bytes = ManifestRenderer.render(
                result.ranked, format: format, errorBound: result.errorBound, scoreBound: result.summary.counting.errorBoundWeight)
        case .urls(let baseURL, _):
            bytes = ManifestRenderer.renderURLs(result.ranked, baseURL: baseURL)
        }
        switch Result(catching: { () throws(EmitError) in try OutputFile.write(bytes, to: manifest.path) }) {
        case .success:
            return true
        case .failure(let error) where manifest.path == "-" && error.code == EPIPE:
            return true  // the reader (e.g. `head`) closed stdout: what it took is what it wanted
        case .failure(let error):
            say(error.description)
            return false
        }
    }
}
