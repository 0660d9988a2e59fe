import AsyncHTTPClient
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The HTTP batch fetch of a warm run, shared by the origin value source (`--origin`) and the
/// HTTP warmer (`--http`): one `HTTPClient` (swift-server/async-http-client) for the run, so
/// that connections are reused; at most `concurrency` requests in flight over every worker
/// thread; every request takes a token from the run's one `TokenBucket`; a 429 or 503 pauses
/// every request for `Retry-After` (or an exponential back-off) and the URL is tried again, up to
/// `maxRetries` times; redirects are followed (when asked, up to 5) only on the guarded host
/// (`GuardedRequest`); a timeout is told from other failures.
///
/// What a response means (which statuses warm a key) is the caller's: the fetcher hands back
/// the last response of each URL, or the failure that left it without one.
public final class HTTPFetcher: Sendable {
    /// How requests are made.
    public struct Settings: Sendable {
        /// The request method.
        public var method: HTTPMethod = .GET
        /// Extra request headers (`--header 'K: V'`); a `User-Agent` here replaces `userAgent`.
        public var headers: [(String, String)] = []
        /// The User-Agent when `headers` has none, `warmset/VERSION`.
        public var userAgent: String = "warmset"
        /// Requests in flight at most, over all workers.
        public var concurrency: Int = 16
        /// Seconds to connect.
        public var connectTimeout: Double = 5
        /// Seconds for a whole request (redirects included).
        public var requestTimeout: Double = 30
        /// Tries again after 429/503 at most this many times.
        public var maxRetries: Int = 5
        /// Follow redirects (up to 5), on the guarded host only.
        public var followRedirects = false
        /// The reason codes of failures, e.g. `origin_timeout` or `http_timeout`.
        public var codes: FailureCodes
        /// The report counter that counts retries, e.g. `origin_retries`.
        public var retryCounter: String

        /// Settings whose failures are named by `codes` and retries counted as `retryCounter`.
        public init(codes: FailureCodes, retryCounter: String) {
            self.codes = codes
            self.retryCounter = retryCounter
        }
    }

    /// The reason codes a fetcher's failures carry, so that each caller keeps its own.
    public struct FailureCodes: Sendable, Equatable {
        /// Before the status code: a 404 is `statusPrefix + "404"`.
        public var statusPrefix: String
        /// No response in time.
        public var timeout: String
        /// No response: refused, reset, a TLS failure.
        public var error: String
        /// A redirect to another host (or beyond 5 redirects), not followed.
        public var offHostRedirect: String

        /// Codes of the origin value source: `origin_http_404`, `origin_timeout`…
        public static let origin = FailureCodes(
            statusPrefix: "origin_http_", timeout: "origin_timeout", error: "origin_error", offHostRedirect: "origin_redirect_off_host")
        /// Codes of the HTTP warmer: `http_404`, `http_timeout`…
        public static let http = FailureCodes(
            statusPrefix: "http_", timeout: "http_timeout", error: "http_error", offHostRedirect: "redirect_off_host")
    }

    /// What became of one URL.
    public enum Fetched: Sendable {
        /// The last response: the one that was not a 429/503, or the 429/503 that was still there
        /// after the last retry.
        case response(HTTPClient.Response, redirects: Int)
        /// No response to use: a timeout, a connection error, an off-host redirect, or the run
        /// stopped before the URL was (re)tried.
        case failed(KeyFailure)
    }

    /// Called once per request sent (retries included), on an event loop, with what came back
    /// and the seconds it took: for statistics.
    public typealias Observer = @Sendable (GuardedRequest.Outcome, _ seconds: Double) -> Void

    private let settings: Settings
    private let requestGuard: RequestGuard
    private let bucket: TokenBucket
    private let ledger: WarmLedger
    private let observer: Observer?
    private let client: HTTPClient
    private let slots: DispatchSemaphore
    private let headers: HTTPHeaders

    /// A fetcher for URLs on `requestGuard`'s host, limited by `bucket`, counting retries in
    /// `ledger` and stopping when it stops.
    public init(_ settings: Settings, guard requestGuard: RequestGuard, bucket: TokenBucket, ledger: WarmLedger, observer: Observer? = nil) {
        self.settings = settings
        self.requestGuard = requestGuard
        self.bucket = bucket
        self.ledger = ledger
        self.observer = observer
        self.slots = DispatchSemaphore(value: max(1, settings.concurrency))
        var configuration = HTTPClient.Configuration(
            timeout: .init(
                connect: .milliseconds(Int64(settings.connectTimeout * 1000)), read: .milliseconds(Int64(settings.requestTimeout * 1000))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency))
        // Redirects are followed by GuardedRequest, on the guarded host only.
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var headers = HTTPHeaders()
        for (name, value) in settings.headers { headers.add(name: name, value: value) }
        if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: settings.userAgent) }
        self.headers = headers
    }

    /// Closes the client's connections. Call once, when the run is over.
    public func shutdown() {
        try? client.syncShutdown()
    }

    /// Requests every URL, blocking the calling thread (a warmer's worker thread, never an event
    /// loop) until each has its last response or a failure. A 429 or 503 pauses the run's
    /// bucket and is tried again (up to `maxRetries` times); once the run has stopped, nothing
    /// more is sent and what is left fails as `not_attempted`.
    /// - Returns: one result per URL, in order.
    public func fetch(_ urls: [String]) -> [Fetched] {
        var results = [Fetched?](repeating: nil, count: urls.count)
        var pending = Array(urls.indices)
        var attempt = 0
        while !pending.isEmpty {
            if ledger.isStopped {
                let why = ledger.stopReason ?? "the run stopped"
                for index in pending { results[index] = .failed(.notAttempted(why)) }
                break
            }
            let attempts = send(pending.map { urls[$0] })
            var again: [Int] = []
            var pause: Double = 0
            for (index, outcome) in zip(pending, attempts) {
                switch outcome {
                case .done(let fetched):
                    results[index] = fetched
                case .backOff(let response, let redirects, let retryAfter):
                    if attempt < settings.maxRetries {
                        again.append(index)
                        pause = max(pause, retryAfter ?? min(0.2 * Double(1 << attempt), 10))
                    } else {
                        results[index] = .response(response, redirects: redirects)
                    }
                }
            }
            if !again.isEmpty {
                ledger.count(settings.retryCounter, again.count)
                bucket.pause(seconds: pause)
            }
            pending = again
            attempt += 1
        }
        return results.map { $0 ?? .failed(KeyFailure(settings.codes.error, "no response")) }
    }

    /// One try of a URL.
    enum Attempt: Sendable {
        case done(Fetched)
        case backOff(HTTPClient.Response, redirects: Int, retryAfter: Double?)
    }

    private final class Collector: Sendable {
        let attempts: Mutex<[Attempt?]>
        init(count: Int) { attempts = Mutex(Array(repeating: nil, count: count)) }
    }

    /// Sends every URL once, each after a token and a free slot, and waits for all of them.
    private func send(_ urls: [String]) -> [Attempt] {
        let collector = Collector(count: urls.count)
        let group = DispatchGroup()
        for (index, url) in urls.enumerated() {
            bucket.acquire()
            slots.wait()
            group.enter()
            let started = TokenBucket.now()
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.requestTimeout * 1000))
            let slots = self.slots
            GuardedRequest.execute(
                client: client, url: url, method: settings.method, headers: headers, deadline: deadline, guard: requestGuard,
                followRedirects: settings.followRedirects
            ) { outcome in
                self.observer?(outcome, TokenBucket.now() - started)
                let attempt = self.attempt(outcome, url: url)
                collector.attempts.withLock { $0[index] = attempt }
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        return collector.attempts.withLock { $0.map { $0 ?? .done(.failed(KeyFailure(settings.codes.error, "no response"))) } }
    }

    private func attempt(_ outcome: GuardedRequest.Outcome, url: String) -> Attempt {
        let what = "\(settings.method.rawValue) \(Redaction.url(url))"
        switch outcome {
        case .response(let response, let redirects):
            let code = Int(response.status.code)
            if code == 429 || code == 503 {
                return .backOff(response, redirects: redirects, retryAfter: response.headers.first(name: "Retry-After").flatMap(Self.retryAfterSeconds))
            }
            return .done(.response(response, redirects: redirects))
        case .refusedRedirect(let location, let status):
            return .done(.failed(KeyFailure(
                settings.codes.offHostRedirect,
                "\(what) returned \(status) to \(Redaction.url(location)), another host (or too many redirects); not followed")))
        case .failure(let error):
            if let error = error as? HTTPClientError, error == .readTimeout || error == .connectTimeout || error == .deadlineExceeded {
                return .done(.failed(KeyFailure(settings.codes.timeout, "\(what) timed out (\(error))")))
            }
            return .done(.failed(KeyFailure(settings.codes.error, "\(what) failed: \(error)")))
        }
    }

    /// The failure of a response whose status does not warm the key: `origin_http_404` and
    /// `GET http://api/p/7 returned 404`.
    public func statusFailure(_ response: HTTPClient.Response, url: String) -> KeyFailure {
        let code = Int(response.status.code)
        return KeyFailure("\(settings.codes.statusPrefix)\(code)", "\(settings.method.rawValue) \(Redaction.url(url)) returned \(code)")
    }

    /// `Retry-After` as seconds: delta-seconds or an HTTP date; at most 60.
    public static func retryAfterSeconds(_ value: String) -> Double? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return min(seconds, 60) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return min(max(0, date.timeIntervalSinceNow), 60)
    }
}
