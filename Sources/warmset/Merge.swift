import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetEmit
import WarmsetSketch

/// `warmset merge`: sketch files in, one sketch out (the reduce step).
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge sketch files (from `warmset analyze --save-sketch`) into one.",
        discussion: """
            The counters are summed; the candidate keys are united and re-ranked against the summed \
            counters. Sketches must have been made with the same shape, hash seed, update rule, \
            --weight and --half-life; anything else is an error, never a silent wrong sum. Decayed \
            sketches are brought to their common landmark first.

            Examples:
              warmset merge web1.sketch web2.sketch web3.sketch -o all.sketch
              warmset analyze all.sketch --top 1000 -o warm.keys
              ssh web1 'warmset analyze /var/log/nginx/access.log --save-sketch - -q' > web1.sketch
            """)

    @Argument(help: ArgumentHelp("Sketch files ('-' is stdin; gzipped sketches are read too).", valueName: "sketch"))
    var sketches: [String]

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the merged sketch here; '-' is stdout.", valueName: "file"))
    var output: String = "-"

    @Option(help: ArgumentHelp("Keep at least this many candidate keys (default: as many as the first input keeps).", valueName: "n"))
    var candidates: Int = 0

    @Flag(name: .shortAndLong, help: "Print no summary.")
    var quiet = false

    func validate() throws {
        guard !sketches.isEmpty else { throw ValidationError("give at least one sketch file") }
        guard sketches.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("stdin ('-') can be read only once") }
        guard candidates >= 0 && candidates <= 50_000_000 else { throw ValidationError("--candidates must be between 0 and 50000000") }
    }

    func run() throws {
        let start = Analyzer.now()
        let merged: SketchSnapshot
        do {
            merged = try SketchStore.merge(sketches, capacity: candidates)
        } catch {
            Terminal.error("\(error); nothing was written")
            throw ExitCode.failure
        }
        do {
            try SketchStore.write(merged, to: output)
        } catch {
            Terminal.error(error.description)
            throw ExitCode.failure
        }
        if !quiet {
            let elapsed = Analyzer.now() - start
            Terminal.write(
                "warmset: merged \(sketches.count) sketches (\(Format.count(merged.requests)) requests, \(Format.count(merged.candidates.count)) candidate keys, \(merged.parameters.depth)×\(Format.count(merged.parameters.width))) into \(output == "-" ? "stdout" : output) in \(Format.seconds(elapsed))\n")
        }
    }
}
