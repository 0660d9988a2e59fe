import AsyncHTTPClient
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The HTTP batch fetch of a warm run, shared by the origin value source (`--origin`) and the
/// HTTP warmer (`--http`): one `HTTPClient` (swift-server/async-http-client) per route (the
/// guarded host, or each node of a fleet) for the run, so that connections are reused; at most
/// `concurrency` requests in flight over every worker thread and route; every request takes a token from the run's one `TokenBucket`; a 429 or 503 pauses
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
        /// A PEM file of the certificate authorities that https servers are verified against,
        /// instead of the system's (`/etc/ssl/certs`); nil for the system's.
        public var trustRootsFile: String?
        /// Header sets of which each request carries one (`--variant 'Accept-Encoding: br'`), on
        /// top of `headers` (a variant's header replaces a header of the same name); empty for
        /// one request with `headers` alone.
        public var variants: [[(String, String)]] = []

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

    /// Where requests go: the guarded host itself, or one node of a cache fleet that answers for
    /// it (curl's `--connect-to`). A route has its own client, so that its connections go to its
    /// node while the URL, the `Host` header and (for https) the TLS server name stay the base
    /// URL's: the client's `dnsOverride` maps the base host to the node's host, and the URL carries
    /// the node's port.
    public struct Route: Sendable {
        /// The node's `host:port` as the report names it; nil for the guarded host itself.
        public var node: String?
        /// The URLs this route may request: the base URL's scheme and host, the node's port.
        public var requestGuard: RequestGuard
        /// The address connections go to instead of `requestGuard.host`; nil to resolve it.
        public var connectHost: String?
        /// The `Host` header of every request (the base URL's host and port); nil for the URL's.
        public var hostHeader: String?

        /// The guarded host itself.
        public init(_ requestGuard: RequestGuard) {
            self.requestGuard = requestGuard
        }

        /// A node reached at `connectHost` for URLs on `requestGuard` (whose port is the node's),
        /// sending `hostHeader`.
        public init(node: String, requestGuard: RequestGuard, connectHost: String, hostHeader: String) {
            self.node = node
            self.requestGuard = requestGuard
            self.connectHost = connectHost
            self.hostHeader = hostHeader
        }
    }

    /// One request: a URL on a route's host, with one of the variants' headers.
    public struct Request: Sendable {
        /// The absolute URL, on `routes[route]`'s guarded scheme, host and port.
        public var url: String
        /// The index of the route in the fetcher's routes.
        public var route: Int
        /// The index of the header set in `Settings.variants` (0 when there are none).
        public var variant: Int

        /// `url` through `routes[route]` with variant `variant`.
        public init(url: String, route: Int = 0, variant: Int = 0) {
            self.url = url
            self.route = route
            self.variant = variant
        }
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

    /// Called once per request sent (retries included), on an event loop, with what came back,
    /// the seconds it took and the request: for statistics.
    public typealias Observer = @Sendable (GuardedRequest.Outcome, _ seconds: Double, _ request: Request) -> Void

    private let settings: Settings
    /// The routes, each with its own client (and so its own connections).
    public let routes: [Route]
    private let bucket: TokenBucket
    private let ledger: WarmLedger
    private let observer: Observer?
    private let clients: [HTTPClient]
    private let slots: DispatchSemaphore
    /// The headers of each route and variant: `headers[route][variant]`.
    private let headers: [[HTTPHeaders]]

    /// A fetcher for URLs on `requestGuard`'s host, limited by `bucket`, counting retries in
    /// `ledger` and stopping when it stops.
    public convenience init(_ settings: Settings, guard requestGuard: RequestGuard, bucket: TokenBucket, ledger: WarmLedger, observer: Observer? = nil) {
        self.init(settings, routes: [Route(requestGuard)], bucket: bucket, ledger: ledger, observer: observer)
    }

    /// A fetcher for URLs through `routes` (at least one), limited by `bucket` over all of them,
    /// counting retries in `ledger` and stopping when it stops.
    public init(_ settings: Settings, routes: [Route], bucket: TokenBucket, ledger: WarmLedger, observer: Observer? = nil) {
        self.settings = settings
        self.routes = routes
        self.bucket = bucket
        self.ledger = ledger
        self.observer = observer
        self.slots = DispatchSemaphore(value: max(1, settings.concurrency))
        self.clients = routes.map { route in
            var configuration = HTTPClient.Configuration(
                timeout: .init(
                    connect: .milliseconds(Int64(settings.connectTimeout * 1000)), read: .milliseconds(Int64(settings.requestTimeout * 1000))))
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency))
            // Redirects are followed by GuardedRequest, on the guarded host only.
            configuration.redirectConfiguration = .disallow
            configuration.decompression = .disabled
            // No tracer: warmset bootstraps none, and the default (the global no-op tracer) still
            // starts a span and sets its attributes per request, 5% of a `warm --http` run's CPU.
            configuration.tracing.tracer = nil
            // The node's address for the base host: the TLS server name stays the base host.
            if let connectHost = route.connectHost { configuration.dnsOverride = [route.requestGuard.host: connectHost] }
            if let file = settings.trustRootsFile {
                configuration.tlsConfiguration = .makeClientConfiguration()
                configuration.tlsConfiguration?.trustRoots = .file(file)
            }
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        let variants = settings.variants.isEmpty ? [[]] : settings.variants
        self.headers = routes.map { route in
            variants.map { variant in
                var headers = HTTPHeaders()
                for (name, value) in settings.headers where !variant.contains(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) {
                    headers.add(name: name, value: value)
                }
                for (name, value) in variant { headers.add(name: name, value: value) }
                if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: settings.userAgent) }
                if let host = route.hostHeader { headers.replaceOrAdd(name: "Host", value: host) }
                return headers
            }
        }
    }

    /// Closes the clients' connections. Call once, when the run is over.
    public func shutdown() {
        for client in clients { try? client.syncShutdown() }
    }

    /// Requests every URL, blocking the calling thread (a warmer's worker thread, never an event
    /// loop) until each has its last response or a failure. A 429 or 503 pauses the run's
    /// bucket and is tried again (up to `maxRetries` times); once the run has stopped, nothing
    /// more is sent and what is left fails as `not_attempted`.
    /// - Returns: one result per URL, in order.
    public func fetch(_ urls: [String]) -> [Fetched] {
        fetch(urls.map { Request(url: $0) })
    }

    /// Sends every request as `fetch(_ urls:)` does, each through its route with its variant's
    /// headers; each request (a node × variant pair of one key) takes its own token.
    /// - Returns: one result per request, in order.
    public func fetch(_ requests: [Request]) -> [Fetched] {
        var results = [Fetched?](repeating: nil, count: requests.count)
        var pending = Array(requests.indices)
        var attempt = 0
        while !pending.isEmpty {
            if ledger.isStopped {
                let why = ledger.stopReason ?? "the run stopped"
                for index in pending { results[index] = .failed(.notAttempted(why)) }
                break
            }
            let attempts = send(pending.map { requests[$0] })
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

    /// Sends every request once, each after a token and a free slot, and waits for all of them.
    private func send(_ requests: [Request]) -> [Attempt] {
        let collector = Collector(count: requests.count)
        let group = DispatchGroup()
        for (index, request) in requests.enumerated() {
            let url = request.url
            bucket.acquire()
            slots.wait()
            group.enter()
            let started = TokenBucket.now()
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.requestTimeout * 1000))
            let slots = self.slots
            GuardedRequest.execute(
                client: clients[request.route], url: url, method: settings.method, headers: headers[request.route][request.variant],
                deadline: deadline, guard: routes[request.route].requestGuard, followRedirects: settings.followRedirects
            ) { outcome in
                self.observer?(outcome, TokenBucket.now() - started, request)
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
        // Built only for a failure: redacting the URL of every response cost 2.6% of a warm run's CPU.
        var what: String { "\(settings.method.rawValue) \(Redaction.url(url))" }
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
            return .done(.failed(KeyFailure(settings.codes.error, "\(what) failed: \(NetworkError.sentence(error))")))
        }
    }

    /// The failure of a response whose status does not warm the key: `origin_http_404` and
    /// `GET http://api/p/7 returned 404`.
    public func statusFailure(_ response: HTTPClient.Response, url: String) -> KeyFailure {
        let code = Int(response.status.code)
        return KeyFailure("\(settings.codes.statusPrefix)\(code)", "\(settings.method.rawValue) \(Redaction.url(url)) returned \(code)")
    }

    /// A header line `Name: value` (`--header`, `--variant`) as a name and a value: the one
    /// parser of header options.
    /// - Throws: `WarmError` when there is no `:` or no name.
    public static func headerLine(_ text: String, option: String) throws(WarmError) -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon > text.startIndex else {
            throw WarmError("\(option) '\(text)'", "expected 'Name: value', e.g. 'Accept-Encoding: br'")
        }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw WarmError("\(option) '\(text)'", "the header name is empty or holds a space; expected 'Name: value'")
        }
        return (name, value)
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
