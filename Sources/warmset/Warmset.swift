import ArgumentParser
import Foundation

/// The root command: configuration only; the work is in the subcommands.
@main
struct Warmset: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warmset",
        abstract: "Derive a cache's warm set from web access logs, and write it as a manifest.",
        discussion: """
            warmset reads nginx/Apache access logs (plain or gzipped, one file, a rotated set, or \
            stdin), finds the keys an application will ask for first after a restart, ranks them by \
            request count, and writes them for a cache warmer.

            Start with:  warmset analyze /var/log/nginx/access.log* --top 1000 --output warm.jsonl --output-format jsonl
            """,
        version: version,
        subcommands: [Analyze.self, Warm.self, Watch.self, Merge.self, Generate.self]
    )

    static func main() {
        // A reader that stops early (`warmset analyze … | head`) must surface as EPIPE on
        // write, which each command handles, not kill the process mid-write.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}
