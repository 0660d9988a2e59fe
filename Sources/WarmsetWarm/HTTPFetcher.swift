import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import WarmsetSystem

/// The HTTP batch fetch of a warm run, shared by the origin value source (`--origin`) and the
/// HTTP warmer (`--http`): a small keep-alive HTTP/1.1 client on swift-nio. Each route (the
/// guarded host, or each node of a fleet) has a fixed pool of connections (`concurrency` spread
/// over the routes), each sending one request at a time and writing the next from the last
/// one's completion, on its event loop; the caller's thread waits once per batch. Every request
/// takes a token from the run's one `TokenBucket`; a 429 or 503 pauses every request for
/// `Retry-After` (or an exponential back-off) and the URL is tried again, up to `maxRetries`
/// times; redirects are followed (when asked, up to 5) only on the guarded host; a timeout is
/// told from other failures.
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
        /// Keep each response's body (`--origin`'s value); false to count its bytes only.
        public var keepBody = true
        /// A longer body fails the request (`error` code): a value is held in memory.
        public var maxBodyBytes = 64 << 20

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

    /// A response: its status, headers and body.
    public struct Response: Sendable {
        /// The status.
        public var status: HTTPResponseStatus
        /// The headers.
        public var headers: HTTPResponseHeaders
        /// The body; nil when it was empty or not kept (`Settings.keepBody`).
        public var body: ByteBuffer?
        /// The body's length in bytes, kept or not.
        public var bodyBytes: Int

        /// A response with `status`, `headers` and `body` (`bodyBytes` long).
        public init(status: HTTPResponseStatus, headers: HTTPResponseHeaders, body: ByteBuffer?, bodyBytes: Int) {
            self.status = status
            self.headers = headers
            self.body = body
            self.bodyBytes = bodyBytes
        }
    }

    /// What became of one URL.
    public enum Fetched: Sendable {
        /// The last response: the one that was not a 429/503, or the 429/503 that was still there
        /// after the last retry.
        case response(Response, redirects: Int)
        /// No response to use: a timeout, a connection error, an off-host redirect, or the run
        /// stopped before the URL was (re)tried.
        case failed(KeyFailure)
    }

    /// Called once per request sent (retries included), on an event loop, with what came back,
    /// the seconds it took and the request: for statistics.
    public typealias Observer = @Sendable (GuardedRequest.Outcome, _ seconds: Double, _ request: Request) -> Void

    /// Redirects followed at most per request.
    static let maxRedirects = 5

    /// What the connections of every route share: the settings, the bucket, the observer.
    final class Shared: Sendable {
        let settings: Settings
        let bucket: TokenBucket
        let observer: Observer?

        init(settings: Settings, bucket: TokenBucket, observer: Observer?) {
            self.settings = settings
            self.bucket = bucket
            self.observer = observer
        }

        /// What one try of `url` came to: done, or to be tried again after a pause.
        func attempt(_ outcome: GuardedRequest.Outcome, url: String) -> Attempt {
            // Built only for a failure: redacting the URL of every response cost 2.6% of a warm run's CPU.
            var what: String { "\(settings.method.rawValue) \(Redaction.url(url))" }
            switch outcome {
            case .response(let response, let redirects):
                let code = Int(response.status.code)
                if code == 429 || code == 503 {
                    return .backOff(response, redirects: redirects, retryAfter: response.headers.first(name: "Retry-After").flatMap(HTTPFetcher.retryAfterSeconds))
                }
                return .done(.response(response, redirects: redirects))
            case .refusedRedirect(let location, let status):
                return .done(.failed(KeyFailure(
                    settings.codes.offHostRedirect,
                    "\(what) returned \(status) to \(Redaction.url(location)), another host (or too many redirects); not followed")))
            case .failure(let error):
                if case HTTPFetchError.timeout = error {
                    return .done(.failed(KeyFailure(settings.codes.timeout, "\(what) timed out (no response within \(settings.requestTimeout) s)")))
                }
                if case ChannelError.connectTimeout = error {
                    return .done(.failed(KeyFailure(settings.codes.timeout, "\(what) timed out (no connection within \(settings.connectTimeout) s)")))
                }
                return .done(.failed(KeyFailure(settings.codes.error, "\(what) failed: \(NetworkError.sentence(error))")))
            }
        }
    }

    private let settings: Settings
    /// The routes, each with its own connections.
    public let routes: [Route]
    private let ledger: WarmLedger
    private let shared: Shared
    private let pools: [HTTPRoutePool]
    /// The event loops of the fetcher's connections (`eventLoopCount`), shut down by `shutdown`.
    private let group: MultiThreadedEventLoopGroup

    /// A fetcher for URLs on `requestGuard`'s host, limited by `bucket`, counting retries in
    /// `ledger` and stopping when it stops.
    public convenience init(_ settings: Settings, guard requestGuard: RequestGuard, bucket: TokenBucket, ledger: WarmLedger, observer: Observer? = nil) {
        self.init(settings, routes: [Route(requestGuard)], bucket: bucket, ledger: ledger, observer: observer)
    }

    /// A fetcher for URLs through `routes` (at least one), limited by `bucket` over all of them,
    /// counting retries in `ledger` and stopping when it stops. No connection is opened before
    /// the first request.
    public init(_ settings: Settings, routes: [Route], bucket: TokenBucket, ledger: WarmLedger, observer: Observer? = nil) {
        self.settings = settings
        self.routes = routes
        self.ledger = ledger
        let shared = Shared(settings: settings, bucket: bucket, observer: observer)
        self.shared = shared
        let variants = settings.variants.isEmpty ? [[]] : settings.variants
        let perRoute = (max(1, settings.concurrency) + routes.count - 1) / max(1, routes.count)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: Self.eventLoopCount(concurrency: settings.concurrency, cores: Cores.available))
        self.group = group
        self.pools = routes.map { route in
            let templates = variants.map { variant in
                var headers = [("Host", route.hostHeader ?? route.requestGuard.authority)]
                for (name, value) in settings.headers where !variant.contains(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) {
                    headers.append((name, value))
                }
                headers += variant
                if !headers.contains(where: { $0.0.caseInsensitiveCompare("User-Agent") == .orderedSame }) {
                    headers.append(("User-Agent", settings.userAgent))
                }
                return HTTPRequestTemplate(method: settings.method, headers: headers)
            }
            return HTTPRoutePool(route: route, templates: templates, connections: perRoute, group: group, fetcher: shared)
        }
    }

    /// Closes the connections. Call once, when the run is over.
    public func shutdown() {
        for pool in pools { pool.shutdown() }
        try? group.syncShutdownGracefully()
    }

    /// The event loops for `concurrency` requests in flight on a machine of `cores`: one per 32
    /// connections, at most one fewer than the cores, at least one. A warm run shares its host
    /// with the server it fills or the application it warms for, and a loop that serves many
    /// connections handles many responses per wake-up: on 2 cores with `--concurrency 64`, one
    /// loop took 11% less CPU per key than two for `--http` (12.1 against 13.7 µs, 6 alternated
    /// runs of 200,000 keys) and 7% less for `--origin` into Redis, at 83,000 and 67,000 keys/s
    /// (docs/benchmarks-warm.md).
    static func eventLoopCount(concurrency: Int, cores: Int) -> Int {
        max(1, min(cores - 1, concurrency / 32))
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
                shared.bucket.pause(seconds: pause)
            }
            pending = again
            attempt += 1
        }
        return results.map { $0 ?? .failed(KeyFailure(settings.codes.error, "no response")) }
    }

    /// One try of a URL.
    enum Attempt: Sendable {
        case done(Fetched)
        case backOff(Response, redirects: Int, retryAfter: Double?)
    }

    /// Sends every request once through its route's connections and waits for all of them.
    private func send(_ requests: [Request]) -> [Attempt] {
        if requests.isEmpty { return [] }
        let batch = HTTPBatch(requests)
        var byRoute = [[Int]](repeating: [], count: pools.count)
        for (index, request) in requests.enumerated() { byRoute[request.route].append(index) }
        for (route, indices) in byRoute.enumerated() where !indices.isEmpty { pools[route].enqueue(batch, indices) }
        batch.wait()
        return batch.slots.map { $0 ?? .done(.failed(KeyFailure(settings.codes.error, "no response"))) }
    }

    /// The failure of a response whose status does not warm the key: `origin_http_404` and
    /// `GET http://api/p/7 returned 404`.
    public func statusFailure(_ response: Response, url: String) -> KeyFailure {
        let code = Int(response.status.code)
        return KeyFailure("\(settings.codes.statusPrefix)\(code)", "\(settings.method.rawValue) \(Redaction.url(url)) returned \(code)")
    }

    /// A header line `Name: value` (`--header`, `--variant`) as a name and a value: the one
    /// parser of header options. An error names the header, never its value (it may be a token).
    /// - Throws: `WarmError` when there is no `:`, no name, or a line break (which would end the
    ///   request's head early).
    public static func headerLine(_ text: String, option: String) throws(WarmError) -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon > text.startIndex else {
            throw WarmError(option, "a header has no 'Name:' (\(text.count) characters); expected 'Name: value', e.g. 'Accept-Encoding: br'")
        }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw WarmError("\(option) '\(name):'", "the header name is empty or holds a space; expected 'Name: value'")
        }
        if text.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") || $0 == 0 }) {
            throw WarmError("\(option) '\(name):'", "the header holds a line break or a NUL byte, which cannot be sent")
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
