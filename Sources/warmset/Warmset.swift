import ArgumentParser
import Foundation

/// The root command: configuration only; the work is in the subcommands.
@main
struct Warmset: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warmset",
        abstract: "Derive a cache's warm set from web access logs, write it as a manifest, and warm caches with it.",
        discussion: """
            warmset reads nginx/Apache access logs (plain or gzipped, one file, a rotated set, or \
            stdin), finds the keys an application will ask for first after a restart, ranks them by \
            how often (or how recently, or at what cost) they are requested, and writes them for a \
            cache warmer, or warms Redis, memcached or an HTTP cache itself.

            A deploy pipeline:
              warmset analyze /var/log/nginx/access.log* --rules rules.yaml --top 5000 -o warm.jsonl --output-format jsonl
              warmset warm warm.jsonl --redis redis://new-cache:6379 --copy-from redis://old-cache:6379
            Many hosts: analyze … --save-sketch host.sketch on each, then warmset merge, then analyze the merged sketch.
            Keep a short-TTL cache warm: warmset watch access.log --every 5m --warm-redis URL --origin … --ttl 600
            Choose --top and the strategy from the logs first: warmset backtest access.log* --top 1000,5000 --strategy frequency,recent:1h,season:1d
            """,
        version: version,
        // Each subcommand names itself (`commandName`): without it, ArgumentParser derives the
        // name from `String(describing: Type.self)` for every subcommand on every run, dynamic
        // casts that scan the binary's protocol conformances (about 1 ms of start-up, measured
        // in docs/benchmarks.md).
        subcommands: [Analyze.self, Warm.self, Watch.self, BacktestCommand.self, Merge.self, Generate.self]
    )

    static func main() {
        // A reader that stops early (`warmset analyze … | head`) must surface as EPIPE on
        // write, which each command handles, not kill the process mid-write.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}
