import WarmsetModel
import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetEmit
import WarmsetWarm

/// `warmset analyze`: logs in, ranked warm set out.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Read access logs and write the ranked warm set.",
        discussion: """
            Examples:
              warmset analyze access.log access.log.1 access.log.2.gz --top 500
              zcat access.log.*.gz | warmset analyze - --rule '^/products/(\\d+)$ => product:$1' -o warm.keys
              warmset analyze access.log --format '$remote_addr [$time_local] "$request" $status $body_bytes_sent' --output-format jsonl
              warmset analyze access.log --top 500 --output-format urls --base-url https://shop.example.com -o prefetch.txt
              warmset analyze app.json.log --format json --json-field status=code --exact --output-format tsv
              warmset analyze access.log --rules rules.yaml --top 5000 --warm-redis redis://cache:6379 --origin 'http://api/p/{1}' --ttl 3600
              warmset analyze access.log* --strategy season:1d --at 2026-11-28T09:00:00Z -o warm.keys   # as backtest recommends

            Keys: with no rule the key is the normalized path (percent-encoding normalized, dot segments \
            resolved, repeated slashes merged, query dropped unless --keep-query). Counting uses a count-min \
            sketch (8 MiB by default; --sketch-memory) whose error bound the summary prints; --exact counts exactly.

            Strategy: --strategy recent:H or season:P (or --at, or --history) scores each request as warmset backtest \
            does for a deploy at --at (default: now): requests logged after it, or with no readable time, are left out, \
            so analyze --at T chooses the warm set the backtest measures at T.

            Exit status: 0 success; 1 the run cannot be trusted (input unreadable or damaged, too many \
            malformed lines, output not written); 64 usage error.
            """)

    @OptionGroup(title: "Input") var input: InputOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "Keys") var keys: KeyOptions
    @OptionGroup(title: "Counting") var counting: CountingOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Choosing the warm set") var selection: SelectionOptions
    @OptionGroup(title: "Weights") var weights: WeightOptions
    @OptionGroup(title: "Strategy (as warmset backtest scores it)") var strategy: StrategyOptions
    @OptionGroup(title: "Sketch files and report") var sketchFile: SketchFileOptions

    @Option(help: ArgumentHelp(
        "After the analysis, warm this Redis with the warm set (no manifest needed; -o still writes one). Takes the options of warmset warm.",
        valueName: "url"))
    var warmRedis: String?
    @Option(help: ArgumentHelp(
        "After the analysis, warm this memcached pool (host:port[,host:port…]) with the warm set. Takes the options of warmset warm --memcached.",
        valueName: "servers"))
    var warmMemcached: String?
    @Option(help: ArgumentHelp(
        "After the analysis, request each ranked key's path under this URL so that the caches behind it fill. Takes the options of warmset warm --http.",
        valueName: "base-url"))
    var warmHttp: String?
    @OptionGroup(title: "Warming (with --warm-redis, --warm-memcached or --warm-http)") var warm: WarmOptions
    @OptionGroup(title: "memcached (with --warm-memcached)") var memcachedOptions: MemcachedOptions
    @OptionGroup(title: "HTTP (with --warm-http)") var httpOptions: HTTPWarmOptions
    @Option(help: ArgumentHelp("With --warm-redis, --warm-memcached or --warm-http: write the warm run's JSON report (every key not warmed, with why).", valueName: "file.json"))
    var warmReport: String?

    /// The cache to warm after the analysis, if any.
    var warmTarget: WarmTarget? {
        if let warmRedis { return .redis(warmRedis) }
        if let warmMemcached { return .memcached(warmMemcached) }
        if let warmHttp { return .http(warmHttp) }
        return nil
    }

    func validate() throws {
        if [warmRedis, warmMemcached, warmHttp].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one of --warm-redis, --warm-memcached and --warm-http")
        }
        if warmTarget == nil && warmReport != nil {
            throw ValidationError("--warm-report needs --warm-redis URL, --warm-memcached SERVERS or --warm-http URL")
        }
        try WarmTarget.check(warmTarget, options: warm, memcached: memcachedOptions, http: httpOptions, optionPrefix: "--warm-")
        try validateAnalysis()
    }

    func run() throws {
        let configuration = try makeConfiguration()
        if let notice = configuration.standardInputNotice(stdinIsTerminal: Terminal.standardInputIsTerminal) { Terminal.error(notice) }
        let terminal = Terminal.standardErrorIsTerminal && !output.quiet
        let bar = terminal ? ProgressBar() : nil
        let result: AnalysisResult
        do {
            result = try Analyzer.analyze(configuration, progress: bar.map { bar in { bar.update($0) } })
        } catch {
            bar?.finish()
            Terminal.error("\(error); no manifest was written")
            throw ExitCode.failure
        }
        bar?.finish()
        let delivery = AnalysisDelivery(
            configuration: configuration, manifest: output.manifest, summaryJSON: output.summaryJson, warmsAfterwards: warmTarget != nil)
        let verdict = delivery.deliver(result, say: Terminal.error) { summary, written in
            if !output.quiet { SummaryPrinter.print(summary, output: output.output, written: written) }
        }
        guard verdict.mayWarm else { throw ExitCode(verdict.status) }
        if let warmTarget {
            let plan = WarmPlan(result.ranked.map(WarmEntry.init))
            let status = try WarmRun.run(
                plan: plan, target: warmTarget, options: warm, memcached: memcachedOptions, http: httpOptions, reportPath: warmReport,
                quiet: output.quiet)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

extension ManifestFormatArgument {
    var manifestFormat: ManifestFormat {
        switch self {
        case .keys: return .keys
        case .tsv: return .tsv
        case .jsonl: return .jsonl
        }
    }
}
