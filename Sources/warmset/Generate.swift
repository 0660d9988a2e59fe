import ArgumentParser
import Foundation
import WarmsetEmit
import WarmsetGenerator
import WarmsetSystem

/// `warmset generate`: deterministic sample traffic.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic, realistic access log for demos, tests and benchmarks.",
        discussion: """
            The same options and seed always give the same bytes. Traffic: Zipf-distributed product, \
            profile, category and API pages (with campaign and session query strings, 304s and some \
            errors), static assets, POSTs, HEADs, scanner probes and searches.

            Example: warmset generate --lines 5000000 --keys 1100000 --zipf 1.0 --seed 1 | gzip > bench.log.gz
            """)

    @Option(help: "Lines to write.") var lines: Int = 10_000
    @Option(help: "Distinct pages (warmable keys).") var keys: Int = 1_000
    @Option(help: "Zipf exponent of page popularity.") var zipf: Double = 1.0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "combined, common or json.") var format: String = "combined"
    @Option(name: [.customShort("o"), .long], help: "Write here instead of stdout.") var output: String = "-"

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must be 0 or more") }
        guard keys >= 1 && keys <= 50_000_000 else { throw ValidationError("--keys must be between 1 and 50000000") }
        guard zipf > 0 && zipf < 5 else { throw ValidationError("--zipf must be between 0 and 5, e.g. 1.0") }
        guard TrafficGenerator.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be combined, common or json")
        }
    }

    func run() throws {
        let generator = TrafficGenerator(
            lines: lines, keys: keys, zipf: zipf, seed: seed, format: TrafficGenerator.Format(rawValue: format) ?? .combined)
        let fd: FileDescriptor
        if output == "-" {
            fd = .standardOutput
        } else {
            do {
                fd = try FileDescriptor.open(output, .createOrTruncate(permissions: 0o644))
            } catch {
                Terminal.error("\(output): cannot create: \(error)")
                throw ExitCode.failure
            }
        }
        defer { if fd != .standardOutput { try? fd.close() } }
        do {
            try generator.write { chunk throws(Errno) in try fd.writeAll(chunk) }
        } catch let error as Errno {
            // A closed pipe (`generate | head`) is the reader having had enough, not a failure.
            if error.isBrokenPipe { throw ExitCode.success }
            Terminal.error("\(output == "-" ? "stdout" : output): write failed: \(error)")
            throw ExitCode.failure
        }
    }
}
