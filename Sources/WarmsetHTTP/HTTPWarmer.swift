import AsyncHTTPClient
import Dispatch
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import Synchronization
import WarmsetModel
import WarmsetWarm

/// Everything an HTTP warm run needs besides the plan.
public struct HTTPWarmSettings: Sendable {
    /// `GET` fills most caches; `HEAD` only those that fill on it.
    public enum Method: String, Sendable, CaseIterable {
        /// `GET`: the body is fetched, so the caches store it.
        case get = "GET"
        /// `HEAD`: no body; fills only caches that fill on HEAD.
        case head = "HEAD"
    }

    /// The base URL; each key's path is appended to it.
    public var baseURL: String
    /// The request method.
    public var method: Method = .get
    /// Extra request headers; a `User-Agent` here replaces `warmset/VERSION`.
    public var headers: [(String, String)] = []
    /// Requests in flight at most.
    public var concurrency = 16
    /// Requests per second at most, nil for no limit.
    public var rate: Double?
    /// Tries again after 429/503 at most this many times.
    public var maxRetries = 5
    /// When to stop early.
    public var failureLimit: FailureLimit = .unlimited
    /// Follow redirects (on the base URL's host only).
    public var followRedirects = false
    /// Seconds to connect.
    public var connectTimeout: Double = 5
    /// Seconds for a whole request.
    public var timeout: Double = 30

    /// Settings for `baseURL`.
    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    /// `baseURL` without a trailing `/`, so that `base + "/path"` has one slash.
    var trimmedBase: String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return String(base)
    }
}

/// Warms whatever caches behind a URL (an application's in-process cache, an nginx
/// `proxy_cache`, Varnish, a CDN edge) by requesting each key's path: `METHOD base + path`.
/// A 2xx (or a 3xx not followed) counts the key warmed; other statuses fail it by code. 429 and
/// 503 pause every request for `Retry-After` (or an exponential back-off) and the key is tried
/// again. Requests only ever go to the base URL's scheme, host and port (`RequestGuard`).
public struct HTTPWarmer: CacheWarmer {
    /// The run's settings.
    public let settings: HTTPWarmSettings
    /// warmset's version, for the User-Agent `warmset/VERSION`.
    public let userAgentVersion: String

    /// A warmer of the caches behind `settings.baseURL`.
    public init(_ settings: HTTPWarmSettings, userAgentVersion: String = "0") {
        self.settings = settings
        self.userAgentVersion = userAgentVersion
    }

    /// The base URL, secrets redacted.
    public var target: String { Redaction.url(settings.baseURL) }

    /// Runs the warm-up and accounts for every key; the report's `http` holds status counts,
    /// latency percentiles and bytes received.
    /// - Throws: `WarmError` when the base URL is not an absolute http(s) URL.
    public func warm(_ plan: WarmPlan, progress: (@Sendable (WarmProgress) -> Void)?) throws(WarmError) -> WarmReport {
        let requestGuard = try RequestGuard(url: settings.baseURL, option: "--http")
        let ledger = WarmLedger(total: plan.entries.count, limit: settings.failureLimit)
        let run = HTTPWarmRun(settings: settings, requestGuard: requestGuard, ledger: ledger, userAgent: "warmset/\(userAgentVersion)")
        defer { run.shutdown() }
        // One lane; a few threads keep batches flowing, the fetcher bounds what is in flight.
        WarmWorkers.run(
            lanes: [plan.entries], threadsPerLane: 2, batchSize: max(8, settings.concurrency), ledger: ledger, progress: progress,
            work: { batches in while let batch = batches.next() { run.warm(batch) } })
        var report = ledger.report(target: target, source: "\(settings.method.rawValue) {path}", dryRun: false)
        report.http = run.statistics.report()
        return report
    }
}

/// What the requests of an HTTP warm run saw, recorded from the event loops.
final class HTTPWarmStatistics: Sendable {
    struct Stats {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var statusCounts: [String: Int] = [:]
        var responses = 0
        var bytes: Int64 = 0
    }

    private let state = Mutex(Stats())

    /// Counts one request's outcome: a response's status, latency and body bytes; a refused
    /// redirect's status.
    func record(_ outcome: GuardedRequest.Outcome, seconds: Double) {
        switch outcome {
        case .response(let response, _):
            let bytes = response.body?.readableBytes ?? 0
            state.withLock { s in
                _ = s.histogram.record(UInt64(max(1, seconds * 1_000_000)))
                s.statusCounts[String(response.status.code), default: 0] += 1
                s.responses += 1
                s.bytes += Int64(bytes)
            }
        case .refusedRedirect(_, let status):
            state.withLock { $0.statusCounts[String(status), default: 0] += 1 }
        case .failure:
            break
        }
    }

    /// The numbers for the report.
    func report() -> WarmReport.HTTPStats {
        state.withLock { s in
            let ms = { (us: UInt64) in Double(us) / 1000 }
            let empty = s.histogram.totalCount == 0
            return WarmReport.HTTPStats(
                statusCounts: s.statusCounts, responses: s.responses, bytesReceived: s.bytes,
                latencyP50Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(50)), latencyP90Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(90)),
                latencyP99Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(99)), latencyMaxMs: empty ? 0 : ms(s.histogram.max))
        }
    }
}

/// The shared state of one HTTP warm run: the fetcher and the statistics.
final class HTTPWarmRun: Sendable {
    let settings: HTTPWarmSettings
    let requestGuard: RequestGuard
    let ledger: WarmLedger
    let fetcher: HTTPFetcher
    let statistics: HTTPWarmStatistics

    init(settings: HTTPWarmSettings, requestGuard: RequestGuard, ledger: WarmLedger, userAgent: String) {
        self.settings = settings
        self.requestGuard = requestGuard
        self.ledger = ledger
        var fetch = HTTPFetcher.Settings(codes: .http, retryCounter: "retries")
        fetch.method = settings.method == .head ? .HEAD : .GET
        fetch.headers = settings.headers
        fetch.userAgent = userAgent
        fetch.concurrency = settings.concurrency
        fetch.connectTimeout = settings.connectTimeout
        fetch.requestTimeout = settings.timeout
        fetch.maxRetries = settings.maxRetries
        fetch.followRedirects = settings.followRedirects
        let statistics = HTTPWarmStatistics()
        self.statistics = statistics
        self.fetcher = HTTPFetcher(
            fetch, guard: requestGuard, bucket: TokenBucket(rate: settings.rate), ledger: ledger,
            observer: { outcome, seconds in
                statistics.record(outcome, seconds: seconds)
                if case .response(_, let redirects) = outcome, redirects > 0 { ledger.count("redirects_followed", redirects) }
            })
    }

    func shutdown() { fetcher.shutdown() }

    /// Requests a batch (the fetcher retries 429/503 after the pause) and counts each key's
    /// outcome.
    func warm(_ entries: [WarmEntry]) {
        var pending: [WarmEntry] = []
        var urls: [String] = []
        for entry in entries {
            // A keys manifest has no paths; with no rule the key is the normalized path.
            let path = entry.path.isEmpty && entry.key.hasPrefix("/") ? entry.key : entry.path
            if path.isEmpty {
                ledger.failed(key: entry.key, KeyFailure("no_path", "the manifest line has no path (write a jsonl manifest)"))
            } else if let why = RequestGuard.unsafePath(path) {
                ledger.failed(key: entry.key, KeyFailure("path_unsafe", "\(why): \(path)"))
            } else if !requestGuard.allows(settings.trimmedBase + path) {
                ledger.failed(key: entry.key, KeyFailure("off_host", "\(path) would leave \(requestGuard.host); not requested"))
            } else {
                pending.append(entry)
                urls.append(settings.trimmedBase + path)
            }
        }
        if pending.isEmpty { return }
        var warmed = 0
        for (entry, (url, fetched)) in zip(pending, zip(urls, fetcher.fetch(urls))) {
            switch fetched {
            case .response(let response, _) where (200..<400).contains(Int(response.status.code)):
                warmed += 1
            case .response(let response, _):
                ledger.failed(key: entry.key, fetcher.statusFailure(response, url: url))
            case .failed(let failure):
                ledger.failed(key: entry.key, failure)
            }
        }
        // Nothing is written: the bytes received are in the report's http.bytes_received.
        ledger.warmed(count: warmed, bytes: 0)
    }
}
