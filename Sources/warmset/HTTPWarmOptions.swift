import ArgumentParser
import WarmsetHTTP
import WarmsetWarm

/// The options only an HTTP warm-up has (`warmset warm --http`, `warmset analyze --warm-http`).
/// `--header`, `--concurrency`, `--rate`, `--max-failures`, `--connect-timeout` and `--timeout`
/// come from the shared warm options.
struct HTTPWarmOptions: ParsableArguments {
    @Option(help: ArgumentHelp("GET (fills most caches) or HEAD (for caches that fill on HEAD). (default: GET)", valueName: "GET|HEAD"))
    var method: HTTPMethodArgument?

    @Flag(help: "Follow redirects (up to 5), on the --http URL's host only; by default a 3xx is the response.")
    var followRedirects = false

    /// Whether any of these options was given (they need an HTTP target).
    var anyGiven: Bool { method != nil || followRedirects }

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
        return settings
    }
}

/// `--method` values.
enum HTTPMethodArgument: String, ExpressibleByArgument, CaseIterable {
    case GET, HEAD
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var value: HTTPWarmSettings.Method { self == .GET ? .get : .head }
}
