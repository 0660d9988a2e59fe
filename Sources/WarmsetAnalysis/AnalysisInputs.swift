import WarmsetInput
import WarmsetSketch

/// The spine's first step: every input opened, and told a log from a saved sketch.
///
/// Everything is opened before any line is read: a typo in the last file name should not cost
/// a long run. Sketch files are told from logs by their magic number, as gzip is.
struct AnalysisInputs {
    /// The logs in the order given; `source` is nil for one that could not be opened
    /// (`--allow-partial`), which is then skipped.
    var logs: [(path: String, source: (any ByteSource)?)] = []
    /// The sketch files, decoded.
    var sketches: [(path: String, snapshot: SketchSnapshot)] = []

    /// The logs that opened.
    var opened: [any ByteSource] { logs.compactMap(\.source) }

    /// The on-disk size of all logs, when every one is a regular file.
    var totalBytes: Int64? {
        var total: Int64 = 0
        for source in opened {
            guard let size = source.compressedSize else { return nil }
            total += size
        }
        return total
    }

    /// True when every log that opened is gzip (and there is one).
    var allGzip: Bool { !opened.isEmpty && opened.allSatisfy(\.isGzip) }

    /// Opens and classifies `configuration.inputs`.
    ///
    /// An input that cannot be opened or is a damaged sketch fails the run, or with
    /// `allowPartial` is recorded in `summary` (an entry, an error, partial) and skipped.
    /// - Throws: the first `InputError` or `SketchError`, unless `allowPartial`.
    static func open(_ configuration: AnalysisConfiguration, recordingFailuresIn summary: inout AnalysisSummary) throws -> AnalysisInputs {
        var inputs = AnalysisInputs()
        for path in configuration.inputs {
            do {
                switch try SketchStore.classify(try InputOpener.open(path, inflater: configuration.inflater, readAhead: configuration.readsAhead())) {
                case .log(let source): inputs.logs.append((path, source))
                case .sketch(let bytes): inputs.sketches.append((path, try SketchFile.decode(bytes, path: path)))
                }
            } catch let error as SketchError {
                if !configuration.allowPartial { throw error }
                summary.recordUnreadable(path, error.description)
            } catch let error as InputError {
                if !configuration.allowPartial { throw error }
                summary.recordUnreadable(path, error.description)
                inputs.logs.append((path, nil))
            }
        }
        return inputs
    }

    /// Adds each sketch input's entry to `summary`, after the logs that failed to open.
    func recordSketches(in summary: inout AnalysisSummary) {
        for (path, snapshot) in sketches {
            summary.inputs.append(.init(
                path: path, gzip: false, compressedBytes: Int64(snapshot.cells.count), bytes: 0, lines: 0, error: nil,
                sketchRequests: snapshot.requests))
        }
    }
}

extension AnalysisSummary {
    /// Records an input that could not be read at all: its entry, its error, and a partial result.
    mutating func recordUnreadable(_ path: String, _ error: String) {
        partial = true
        errors.append(error)
        inputs.append(.init(path: path, gzip: false, compressedBytes: 0, bytes: 0, lines: 0, error: error))
    }

    /// Records a log read up to its end or up to `error`.
    mutating func recordRead(_ path: String, source: any ByteSource, decoded: Int64, lines: Int, error: InputError?) {
        if let error {
            partial = true
            errors.append(error.description)
        }
        inputs.append(.init(
            path: path, gzip: source.isGzip, compressedBytes: source.compressedBytesConsumed, bytes: decoded, lines: lines,
            error: error?.description))
    }
}
