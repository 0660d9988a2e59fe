import ArgumentParser
import Foundation
import WarmsetAnalysis
import WarmsetEmit
import WarmsetFormat
import WarmsetSketch

/// Where lines come from and how they are read.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "Log files, plain or gzip (detected by content). Several files are one stream; '-' or none reads stdin.",
        valueName: "log"))
    var logs: [String] = []

    @OptionGroup var lines: LineFormatOptions

    @Option(help: ArgumentHelp("gzip inflater: isal (Intel ISA-L, fast) or zlib (the reference).", valueName: "name"))
    var inflate: InflaterArgument = .isal

    @Flag(help: "Decode and parse on one thread (by default inflating runs on a second thread).")
    var singleThread = false

    @Option(help: ArgumentHelp(
        "Parse lanes, each counting (or, in a backtest, recording) its own share of the lines, run on as many threads besides the inflating thread (default: 2 when the machine has 2 or more cores; for gzip input one thread fewer than the cores, and the inflating thread parses whenever it is ahead). Unweighted analysis and exact backtests only: weighted or decayed counting, --recount and a backtest's sketch mode read on one lane; 1 parses on one thread.",
        valueName: "n"))
    var threads: Int?

    /// True when the options fix the parse lanes (`--threads`, `--single-thread`).
    var threadsChosen: Bool { threads != nil || singleThread }

    /// The parse lanes the options ask for.
    var parseThreads: Int {
        if singleThread { return 1 }
        return threads ?? (AnalysisConfiguration.activeCores >= 2 ? 2 : 1)
    }

    func validate() throws {
        if let threads {
            guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be between 1 and 64") }
            if singleThread && threads > 1 { throw ValidationError("--single-thread and --threads \(threads) contradict; give one") }
        }
    }

    func jsonFieldNames() throws -> JSONFieldNames { try lines.jsonFieldNames() }
}

/// watch's input: plain-text logs to follow, and how their lines read. The gzip, stdin and
/// parse-lane options of `InputOptions` do not apply to following a growing file.
struct FollowInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The log files to follow, plain text (a gzip file or stdin cannot grow; analyze them with warmset analyze). Several files are one stream.",
        valueName: "log"))
    var logs: [String] = []

    @OptionGroup var lines: LineFormatOptions

    /// The same settings as analyze's input group (one lane, no gzip), for the shared configuration code.
    var asInputOptions: InputOptions {
        var input = InputOptions()
        input.logs = logs
        input.lines = lines
        // Every property set: ArgumentParser traps on reading one that was neither parsed nor set.
        input.inflate = .isal
        input.singleThread = true
        input.threads = nil
        return input
    }

}

/// How the lines of a log read: the options analyze, watch and backtest share.
struct LineFormatOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "combined, common, json, or an nginx log_format string pasted as is, e.g. '$remote_addr [$time_local] \"$request\" $status $body_bytes_sent $request_time'.",
        valueName: "format"))
    var format: String = "combined"

    @Option(name: .customLong("json-field"), help: ArgumentHelp(
        "With --format json: which JSON key holds a field, as FIELD=KEY (fields: request, method, request_uri, uri, status, bytes, time, request_time, host). Repeatable.",
        valueName: "field=key"))
    var jsonFields: [String] = []

    @Option(help: ArgumentHelp("Lines longer than this are counted as malformed and skipped.", valueName: "bytes"))
    var maxLineBytes: Int = 64 * 1024

    func validate() throws {
        guard maxLineBytes >= 256 && maxLineBytes <= 64 * 1024 * 1024 else {
            throw ValidationError("--max-line-bytes must be between 256 and 67108864")
        }
        _ = try jsonFieldNames()
    }

    func jsonFieldNames() throws -> JSONFieldNames {
        var names = JSONFieldNames.defaults
        for item in jsonFields {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let field = JSONFieldNames.settable[parts[0]], !parts[1].isEmpty else {
                throw ValidationError(
                    "--json-field '\(item)': expected FIELD=KEY with FIELD one of \(JSONFieldNames.settable.keys.sorted().joined(separator: ", "))")
            }
            names.names[field] = [parts[1]]
        }
        return names
    }
}

/// Which requests count.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Methods that count, comma-separated. (default: GET)", valueName: "list"))
    var methods: String?

    @Option(help: ArgumentHelp("Statuses that count: classes and codes, comma-separated. (default: 2xx,304)", valueName: "list"))
    var status: String?

    @Option(help: ArgumentHelp("Count only requests logged at or after this ISO 8601 time (e.g. 2026-11-27T06:00:00Z).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Count only requests logged before this ISO 8601 time.", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Count only requests for this $host (needs $host in the format).", valueName: "name"))
    var host: String?

    @Option(name: .customLong("exclude"), help: ArgumentHelp(
        "Skip requests whose normalized path matches this regex (PCRE, unanchored). Repeatable.", valueName: "regex"))
    var excludes: [String] = []
}

/// How a request becomes a key.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("rule"), help: ArgumentHelp(
        "'REGEX => TEMPLATE': the regex (PCRE) must match the whole normalized path; the key is the template with $1… or ${name} filled in. First match wins; with any rule, requests that match none are not counted. Repeatable.",
        valueName: "rule"))
    var rules: [String] = []

    @Option(name: .customLong("rules"), help: ArgumentHelp(
        "A YAML file of rules and filters (rules, exclude, methods, status, keep_query, host, since, until, format). Its rules come before --rule ones.",
        valueName: "file"))
    var rulesFile: String?

    @Option(help: ArgumentHelp("Query parameters kept in the key: none, all, or a list like page,sort (kept ones are sorted). (default: none)", valueName: "policy"))
    var keepQuery: String?

    @Option(help: ArgumentHelp("Requests whose key would be longer are skipped and counted.", valueName: "bytes"))
    var maxKeyBytes: Int = 1024

    func validate() throws {
        guard maxKeyBytes >= 1 && maxKeyBytes <= 1 << 20 else { throw ValidationError("--max-key-bytes must be between 1 and 1048576") }
    }
}

/// Sketch or exact counting.
struct CountingOptions: ParsableArguments {
    @Flag(help: "Count every key exactly in a hash map (memory grows with the number of distinct keys).")
    var exact = false

    @Option(help: ArgumentHelp("Sketch memory for the counters, e.g. 32MiB (4 rows); more memory, a smaller error bound ε·N. Each parse lane (--threads) has its own. (default: 8MiB)", valueName: "size"))
    var sketchMemory: String?

    @Option(help: ArgumentHelp("Sketch error: counts are at most ε·N too high (sets the width).", valueName: "ε"))
    var epsilon: Double?

    @Option(help: ArgumentHelp("Sketch failure probability δ (sets the depth). (default with --epsilon: 0.02)", valueName: "δ"))
    var delta: Double?

    func validate() throws {
        if sketchMemory != nil && (epsilon != nil || delta != nil) {
            throw ValidationError("give either --sketch-memory or --epsilon/--delta, not both")
        }
        if let epsilon, !(epsilon > 0 && epsilon < 1) { throw ValidationError("--epsilon must be between 0 and 1, e.g. 0.00001") }
        if let delta, !(delta > 0 && delta < 1) { throw ValidationError("--delta must be between 0 and 1, e.g. 0.02") }
        if let sketchMemory { _ = try Self.sketchMemoryBytes(sketchMemory) }
    }

    /// `--sketch-memory`'s bytes, 1 KiB to 16 GiB (analyze's and backtest's).
    /// - Throws: `ValidationError` naming the value and the range.
    static func sketchMemoryBytes(_ text: String) throws -> Int {
        guard let bytes = ByteSize.parse(text), bytes >= 1024, bytes <= 16 << 30 else {
            throw ValidationError("--sketch-memory '\(text)': use a size between 1KiB and 16GiB, e.g. 16MiB")
        }
        return bytes
    }

    var parameters: SketchParameters {
        if let sketchMemory, let bytes = ByteSize.parse(sketchMemory) { return .forMemory(bytes: bytes) }
        if epsilon != nil || delta != nil {
            return .forError(epsilon: epsilon ?? SketchParameters.default.epsilon, delta: delta ?? 0.02)
        }
        return .default
    }
}

/// What is written where.
struct OutputOptions: ParsableArguments {
    /// `--top`'s range, for analyze and watch.
    static func checkTop(_ top: Int) throws {
        guard top >= 1 && top <= 10_000_000 else { throw ValidationError("--top must be between 1 and 10000000") }
    }

    @Option(help: ArgumentHelp("How many keys the warm set holds.", valueName: "n"))
    var top: Int = 1000

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp(
        "Write the manifest here (through a temporary file renamed into place); '-' is stdout.", valueName: "file"))
    var output: String = "-"

    @Option(help: ArgumentHelp(
        "keys (one per line), tsv (key<TAB>count), jsonl ({\"rank\",\"key\",\"count\",\"path\"}) or urls (one absolute URL per line: --base-url + each key's path).",
        valueName: "format"))
    var outputFormat: OutputFormatArgument = .keys

    @Option(help: ArgumentHelp("With --output-format urls: the scheme and host (and port, path prefix) the paths are appended to, e.g. https://shop.example.com.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "file"))
    var summaryJson: String?

    @Flag(name: .shortAndLong, help: "Print no progress and no summary; errors still go to stderr.")
    var quiet = false

    @Flag(help: "Write the result even when some input could not be read; the summary marks it partial.")
    var allowPartial = false

    @Option(help: ArgumentHelp("Fail the run when more than this share of lines is malformed (a wrong --format). E.g. 5% or 0.05.", valueName: "share"))
    var maxMalformed: String = "5%"

    func validate() throws {
        try Self.checkTop(top)
        try Self.checkBaseURL(baseURL, format: outputFormat)
        guard Share.parse(maxMalformed) != nil else {
            throw ValidationError("--max-malformed '\(maxMalformed)': use a percentage like 5% or a fraction like 0.05")
        }
    }

    /// `--base-url` goes with `--output-format urls` (both ways) and is an absolute http(s) URL
    /// without query or fragment; analyze and watch check it here.
    static func checkBaseURL(_ baseURL: String?, format: OutputFormatArgument) throws {
        if format == .urls {
            guard let baseURL else { throw ValidationError("--output-format urls needs --base-url, e.g. --base-url https://shop.example.com") }
            guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                url.query == nil, url.fragment == nil
            else {
                throw ValidationError("--base-url '\(baseURL)': expected an absolute http:// or https:// URL such as https://shop.example.com")
            }
        } else if baseURL != nil {
            throw ValidationError("--base-url is for --output-format urls")
        }
    }

    /// Where the manifest goes, and in which form.
    var manifest: AnalysisDelivery.Manifest {
        if let format = outputFormat.manifestFormat { return .manifest(format, to: output) }
        return .urls(baseURL: baseURL ?? "", to: output)
    }
}

/// `--inflate` values.
enum InflaterArgument: String, ExpressibleByArgument, CaseIterable {
    case isal, zlib
}

/// `--manifest-format` values (the manifests warmset reads back).
enum ManifestFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case keys, tsv, jsonl
}

/// `--output-format` values: the manifests, and `urls`, which is written but not read back.
enum OutputFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case keys, tsv, jsonl, urls

    /// The manifest format, or nil for `urls`.
    var manifestFormat: ManifestFormat? {
        switch self {
        case .keys: return .keys
        case .tsv: return .tsv
        case .jsonl: return .jsonl
        case .urls: return nil
        }
    }
}

/// Sizes like `16MiB`, `512k`, `1G`, `1048576`.
enum ByteSize {
    static func parse(_ text: String) -> Int? {
        let lower = text.lowercased().trimmed(" ")
        let units: [(String, Int)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000),
            ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
        ]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Double(String(lower.dropLast(suffix.count)).trimmed(" ")), value >= 0 else { return nil }
            return Int(value * Double(factor))
        }
        return Int(lower)
    }
}

/// Shares like `5%` or `0.05`.
enum Share {
    static func parse(_ text: String) -> Double? {
        if text.hasSuffix("%"), let value = Double(text.dropLast()), value >= 0, value <= 100 { return value / 100 }
        if let value = Double(text), value >= 0, value <= 1 { return value }
        return nil
    }
}

extension String {
    func trimmed(_ set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// The values of the string enums the options take, listed without a key path. ArgumentParser's
/// default maps `allCases` through `\.rawValue.defaultValueDescription`, a key path the Swift
/// runtime instantiates from its mangled pattern on every run, for each enum an option names;
/// a closure is compiled code.
extension ExpressibleByArgument where Self: CaseIterable & RawRepresentable, RawValue == String {
    static var allValueStrings: [String] { allCases.map { $0.rawValue } }
}
