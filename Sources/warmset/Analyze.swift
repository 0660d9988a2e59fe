import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetEmit
import WarmsetWarm

/// `warmset analyze`: logs in, ranked warm set out.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read access logs and write the ranked warm set.",
        discussion: """
            Examples:
              warmset analyze access.log access.log.1 access.log.2.gz --top 500
              zcat access.log.*.gz | warmset analyze - --rule '^/products/(\\d+)$ => product:$1' -o warm.keys
              warmset analyze access.log --format '$remote_addr [$time_local] "$request" $status $body_bytes_sent' --output-format jsonl
              warmset analyze app.json.log --format json --json-field status=code --exact --output-format tsv
              warmset analyze access.log --rules rules.yaml --top 5000 --warm-redis redis://cache:6379 --origin 'http://api/p/{1}' --ttl 3600

            Keys: with no rule the key is the normalized path (percent-encoding normalized, dot segments \
            resolved, repeated slashes merged, query dropped unless --keep-query). Counting uses a count-min \
            sketch (16 MiB by default) whose error bound the summary prints; --exact counts exactly.

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
    @OptionGroup(title: "Sketch files and report") var sketchFile: SketchFileOptions

    @Option(help: ArgumentHelp(
        "After the analysis, warm this Redis with the warm set (no manifest needed; -o still writes one). Takes the options of warmset warm.",
        valueName: "url"))
    var warmRedis: String?
    @OptionGroup(title: "Warming (with --warm-redis)") var warm: WarmOptions
    @Option(help: ArgumentHelp("With --warm-redis: write the warm run's JSON report (every key not warmed, with why).", valueName: "file.json"))
    var warmReport: String?

    func validate() throws {
        if let warmRedis {
            try warm.check()
            _ = try warm.settings(redis: warmRedis)
        } else if warm.anyGiven || warmReport != nil {
            throw ValidationError("the warm options (--origin, --copy-from, --ttl…) need --warm-redis URL")
        }
        // Compile everything now, so a bad format, rule or filter is a usage error (exit 64).
        do {
            _ = try CompiledAnalysis(try makeConfiguration())
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let configuration = try makeConfiguration()
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
        var summary = result.summary
        let trusted = result.isTrustworthy(allowPartial: configuration.allowPartial)
        var written = false
        // With --warm-redis the manifest is written only where -o points, not to stdout.
        let skipManifest = warmRedis != nil && output.output == "-"
        let sketchToStdout = configuration.saveSketch == "-"
        if trusted, let path = configuration.saveSketch, let sketch = result.sketch {
            do {
                try SketchStore.write(sketch, to: path)
            } catch {
                Terminal.error("--save-sketch \(error.description)")
                throw ExitCode.failure
            }
        }
        if trusted, let path = configuration.report {
            do {
                try ReportFile.write(result, configuration: configuration, to: path)
            } catch {
                Terminal.error("--report \(error.description)")
                throw ExitCode.failure
            }
        }
        if trusted && sketchToStdout && output.output == "-" {
            written = true  // stdout carries the sketch; the manifest goes only to --output FILE
        } else if trusted && !skipManifest {
            let bytes = ManifestRenderer.render(
                result.ranked, format: output.outputFormat.manifestFormat, errorBound: result.errorBound,
                scoreBound: result.summary.counting.errorBoundWeight)
            switch Result(catching: { () throws(EmitError) in try OutputFile.write(bytes, to: output.output) }) {
            case .success:
                written = true
            case .failure(let error) where output.output == "-" && error.code == EPIPE:
                written = true  // the reader (e.g. `head`) closed stdout: what it took is what it wanted
            case .failure(let error):
                Terminal.error(error.description)
            }
        } else {
            summary.keysEmitted = 0
        }
        if !output.quiet { SummaryPrinter.print(summary, output: output.output, written: written) }
        if let path = output.summaryJson {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try OutputFile.write(Array(try encoder.encode(summary)) + [0x0A], to: path)
            } catch {
                Terminal.error("--summary-json \(path): \(error)")
                throw ExitCode.failure
            }
        }
        if summary.tooManyMalformed {
            let share = summary.linesRead > 0 ? 100 * Double(summary.linesMalformed) / Double(summary.linesRead) : 0
            let first = summary.malformedSamples.first.map { " (first: \($0))" } ?? ""
            Terminal.error(
                "\(Format.percent(share)) of lines (\(Format.count(summary.linesMalformed)) of \(Format.count(summary.linesRead))) do not match the format '\(configuration.format)'\(first); check --format. No manifest was written")
            throw ExitCode.failure
        }
        if summary.partial {
            if configuration.allowPartial {
                Terminal.error("warning: the result is PARTIAL: \(summary.errors.joined(separator: "; ")). Written anyway (--allow-partial)")
            } else {
                Terminal.error(
                    "the result is partial, so no manifest was written: \(summary.errors.joined(separator: "; ")). Fix the input, or rerun with --allow-partial to write what was read")
                throw ExitCode.failure
            }
        }
        if !written && !skipManifest { throw ExitCode.failure }
        if let warmRedis {
            let plan = WarmPlan(result.ranked.map(WarmEntry.init))
            let status = try RedisWarmRun.run(plan: plan, redisURL: warmRedis, options: warm, reportPath: warmReport, quiet: output.quiet)
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
