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
public enum HTTPWarmer {
    /// Runs the warm-up and accounts for every key; the report's `http` holds status counts,
    /// latency percentiles and bytes received.
    /// - Throws: `WarmError` when the base URL is not an absolute http(s) URL.
    public static func run(
        _ plan: WarmPlan, _ settings: HTTPWarmSettings, userAgentVersion: String = "0",
        progress: (@Sendable (WarmProgress) -> Void)? = nil
    ) throws(WarmError) -> WarmReport {
        let requestGuard = try RequestGuard(url: settings.baseURL, option: "--http")
        let ledger = WarmLedger(total: plan.entries.count, limit: settings.failureLimit)
        let run = HTTPWarmRun(settings: settings, requestGuard: requestGuard, ledger: ledger, userAgent: "warmset/\(userAgentVersion)")
        defer { run.shutdown() }
        // One lane; a few threads keep batches flowing, the semaphore bounds what is in flight.
        WarmWorkers.run(
            lanes: [plan.entries], threadsPerLane: 2, batchSize: max(8, settings.concurrency), ledger: ledger, progress: progress,
            work: { batches in while let batch = batches.next() { run.warm(batch) } })
        var report = ledger.report(target: Redaction.url(settings.baseURL), source: "\(settings.method.rawValue) {path}", dryRun: false)
        report.http = run.stats()
        return report
    }
}

/// The shared state of one HTTP warm run: the client, the limits and the statistics.
final class HTTPWarmRun: Sendable {
    struct Stats {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var statusCounts: [String: Int] = [:]
        var responses = 0
        var bytes: Int64 = 0
    }

    enum Attempt: Sendable {
        case done(Result<Void, KeyFailure>)
        case backOff(KeyFailure, retryAfter: Double?)
    }

    let settings: HTTPWarmSettings
    let requestGuard: RequestGuard
    let ledger: WarmLedger
    let client: HTTPClient
    let bucket: TokenBucket
    let slots: DispatchSemaphore
    let headers: HTTPHeaders
    let statistics = Mutex(Stats())

    init(settings: HTTPWarmSettings, requestGuard: RequestGuard, ledger: WarmLedger, userAgent: String) {
        self.settings = settings
        self.requestGuard = requestGuard
        self.ledger = ledger
        self.bucket = TokenBucket(rate: settings.rate)
        self.slots = DispatchSemaphore(value: max(1, settings.concurrency))
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .milliseconds(Int64(settings.connectTimeout * 1000)), read: .milliseconds(Int64(settings.timeout * 1000))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency))
        configuration.redirectConfiguration = .disallow  // GuardedRequest follows, on the same host only
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var headers = HTTPHeaders()
        for (name, value) in settings.headers { headers.add(name: name, value: value) }
        if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: userAgent) }
        self.headers = headers
    }

    func shutdown() { try? client.syncShutdown() }

    /// The run's statistics for the report.
    func stats() -> WarmReport.HTTPStats {
        statistics.withLock { s in
            let ms = { (us: UInt64) in Double(us) / 1000 }
            let empty = s.histogram.totalCount == 0
            return WarmReport.HTTPStats(
                statusCounts: s.statusCounts, responses: s.responses, bytesReceived: s.bytes,
                latencyP50Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(50)), latencyP90Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(90)),
                latencyP99Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(99)), latencyMaxMs: empty ? 0 : ms(s.histogram.max))
        }
    }

    /// Requests a batch, retrying 429/503 after the pause, and counts each key's outcome.
    func warm(_ entries: [WarmEntry]) {
        var pending: [(WarmEntry, String)] = []
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
                pending.append((entry, settings.trimmedBase + path))
            }
        }
        var attempt = 0
        while !pending.isEmpty {
            if ledger.isStopped {
                for (entry, _) in pending { ledger.failed(key: entry.key, .notAttempted(ledger.stopReason ?? "the run stopped")) }
                return
            }
            let outcomes = send(pending.map(\.1))
            var again: [(WarmEntry, String)] = []
            var pause: Double = 0
            var warmed = 0
            for (item, outcome) in zip(pending, outcomes) {
                switch outcome {
                case .done(.success): warmed += 1
                case .done(.failure(let failure)): ledger.failed(key: item.0.key, failure)
                case .backOff(let failure, let retryAfter):
                    if attempt < settings.maxRetries {
                        again.append(item)
                        pause = max(pause, retryAfter ?? min(0.2 * Double(1 << attempt), 10))
                    } else {
                        ledger.failed(key: item.0.key, failure)
                    }
                }
            }
            // Nothing is written: the bytes received are in the report's http.bytes_received.
            ledger.warmed(count: warmed, bytes: 0)
            if !again.isEmpty {
                ledger.count("retries", again.count)
                bucket.pause(seconds: pause)
            }
            pending = again
            attempt += 1
        }
    }

    private final class Collector: Sendable {
        let attempts: Mutex<[Attempt?]>
        init(count: Int) { attempts = Mutex(Array(repeating: nil, count: count)) }
    }

    private func send(_ urls: [String]) -> [Attempt] {
        let collector = Collector(count: urls.count)
        let group = DispatchGroup()
        let method: HTTPMethod = settings.method == .head ? .HEAD : .GET
        for (index, url) in urls.enumerated() {
            bucket.acquire()
            slots.wait()
            group.enter()
            let started = TokenBucket.now()
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.timeout * 1000))
            let slots = self.slots
            GuardedRequest.execute(
                client: client, url: url, method: method, headers: headers, deadline: deadline, guard: requestGuard,
                followRedirects: settings.followRedirects
            ) { outcome in
                let attempt = self.attempt(outcome, url: url, seconds: TokenBucket.now() - started)
                collector.attempts.withLock { $0[index] = attempt }
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        return collector.attempts.withLock { $0.map { $0 ?? .done(.failure(KeyFailure("http_error", "no response"))) } }
    }

    private func attempt(_ outcome: GuardedRequest.Outcome, url: String, seconds: Double) -> Attempt {
        let what = "\(settings.method.rawValue) \(Redaction.url(url))"
        switch outcome {
        case .response(let response, let redirects):
            let code = Int(response.status.code)
            let bytes = response.body?.readableBytes ?? 0
            statistics.withLock { s in
                _ = s.histogram.record(UInt64(max(1, seconds * 1_000_000)))
                s.statusCounts[String(code), default: 0] += 1
                s.responses += 1
                s.bytes += Int64(bytes)
            }
            if redirects > 0 { ledger.count("redirects_followed", redirects) }
            if (200..<400).contains(code) { return .done(.success(())) }
            let failure = KeyFailure("http_\(code)", "\(what) returned \(code)")
            if code == 429 || code == 503 {
                return .backOff(failure, retryAfter: response.headers.first(name: "Retry-After").flatMap(OriginSource.retryAfterSeconds))
            }
            return .done(.failure(failure))
        case .refusedRedirect(let location, let status):
            statistics.withLock { $0.statusCounts[String(status), default: 0] += 1 }
            return .done(.failure(KeyFailure("redirect_off_host", "\(what) returned \(status) to \(Redaction.url(location)), another host (or too many redirects); not followed")))
        case .failure(let error):
            if let error = error as? HTTPClientError, error == .readTimeout || error == .connectTimeout || error == .deadlineExceeded {
                return .done(.failure(KeyFailure("http_timeout", "\(what) timed out (\(error))")))
            }
            return .done(.failure(KeyFailure("http_error", "\(what) failed: \(error)")))
        }
    }
}
