import ArgumentParser
import WarmsetHTTP
import WarmsetWarm

/// The options only an HTTP warm-up has (`warmset warm --http`, `warmset analyze --warm-http`).
/// `--header`, `--concurrency`, `--rate`, `--max-failures`, `--connect-timeout` and `--timeout`
/// come from the shared warm options.
struct HTTPWarmOptions: ParsableArguments {
    @Option(help: ArgumentHelp("GET (fills most caches) or HEAD (for caches that fill on HEAD). (default: GET)", valueName: "GET|HEAD"))
    var method: HTTPMethodArgument?

    @Flag(help: "Follow redirects (up to 5), on the warmed URL's host only; by default a 3xx is the response.")
    var followRedirects = false

    @Option(
        name: .customLong("http-node"),
        help: ArgumentHelp(
            "A node of the cache fleet behind the URL, HOST:PORT; repeatable. Every request goes to each node with the URL's Host header and TLS server name (as curl --connect-to), e.g. --http-node 10.0.0.11:443 --http-node 10.0.0.12:443 for https://shop.example.com.",
            valueName: "host:port"))
    var httpNodes: [String] = []

    @Option(
        name: .customLong("variant"),
        help: ArgumentHelp(
            "A request header the cache varies on, 'Name: value'; repeatable: each key is requested once per variant (on each node), e.g. --variant 'Accept-Encoding: br' --variant 'Accept-Encoding: gzip'.",
            valueName: "header"))
    var variants: [String] = []

    @Flag(help: "After the warm-up, request the top warmed keys (--verify-sample) again on every node and variant and print the share that were cache hits (from X-Cache-Status, X-Cache, CF-Cache-Status or Age).")
    var verify = false

    @Option(help: ArgumentHelp("With --verify: how many warmed keys to request again. (default: 100)", valueName: "n"))
    var verifySample: Int?

    /// Whether any of these options was given (they need an HTTP target).
    var anyGiven: Bool { method != nil || followRedirects || !httpNodes.isEmpty || !variants.isEmpty || verify || verifySample != nil }

    /// The library settings for warming `baseURL`.
    func settings(baseURL: String, options: WarmOptions) throws -> HTTPWarmSettings {
        _ = try WarmOptions.usageError { () throws(WarmError) in try RequestGuard(url: baseURL, option: "--http") }
        var settings = HTTPWarmSettings(baseURL: baseURL)
        settings.method = method?.value ?? .get
        settings.followRedirects = followRedirects
        settings.headers = try options.parsedHeaders()
        settings.concurrency = options.concurrency
        settings.rate = try options.parsedRate()
        settings.failureLimit = try WarmOptions.usageError { () throws(WarmError) in try FailureLimit.parse(options.maxFailures) }
        settings.connectTimeout = options.connectTimeout
        settings.timeout = options.timeout
        settings.trustRootsFile = options.tlsCa
        settings.nodes = try httpNodes.map { text in try WarmOptions.usageError { () throws(WarmError) in try HTTPNode(text) } }
        guard Set(settings.nodes).count == settings.nodes.count else { throw ValidationError("--http-node: a node is given twice") }
        settings.variants = try variants.map { text in
            [try WarmOptions.usageError { () throws(WarmError) in try HTTPFetcher.headerLine(text, option: "--variant") }]
        }
        if let verifySample {
            guard verify else { throw ValidationError("--verify-sample needs --verify") }
            guard (1...100_000).contains(verifySample) else { throw ValidationError("--verify-sample must be between 1 and 100000") }
        }
        settings.verifySample = verify ? verifySample ?? 100 : 0
        return settings
    }
}

/// `--method` values.
enum HTTPMethodArgument: String, ExpressibleByArgument, CaseIterable {
    case GET, HEAD
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var value: HTTPWarmSettings.Method { self == .GET ? .get : .head }
}
