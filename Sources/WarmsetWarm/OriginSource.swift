import AsyncHTTPClient
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import WarmsetModel

/// Where a key's value comes from when it is fetched over HTTP (`--origin TEMPLATE`): the 2xx
/// response body is the value; any other status, a timeout or a connection error is that key's
/// failure. Shared by every warmer.
///
/// One `HTTPClient` (swift-server/async-http-client) for the whole run, so connections are
/// reused; at most `concurrency` requests in flight across all worker threads; every request
/// takes a token from the run's `TokenBucket`; 429 and 503 pause everyone for `Retry-After` (or
/// an exponential back-off) and the key is tried again, up to `maxRetries` times. Requests stay
/// on the template's host (`RequestGuard`): a `{path}` that would leave it is refused, and
/// redirects are followed (up to 5) only on that host.
public final class OriginSource: Sendable {
    /// The origin's settings.
    public struct Settings: Sendable {
        /// The URL template.
        public var template: OriginTemplate
        /// Extra request headers (`--header 'K: V'`); a `User-Agent` here replaces the default.
        public var headers: [(String, String)] = []
        /// Requests in flight at most, over all workers.
        public var concurrency: Int = 16
        /// Seconds to connect.
        public var connectTimeout: Double = 5
        /// Seconds for a whole request.
        public var requestTimeout: Double = 30
        /// Tries again after 429/503 at most this many times.
        public var maxRetries: Int = 5
        /// The default User-Agent, `warmset/VERSION`.
        public var userAgent: String = "warmset"

        /// Settings for `template`.
        public init(template: OriginTemplate) {
            self.template = template
        }
    }

    private let settings: Settings
    private let client: HTTPClient
    private let bucket: TokenBucket
    private let ledger: WarmLedger
    private let slots: DispatchSemaphore
    private let headers: HTTPHeaders

    /// An origin client limited by `bucket`, counting retries in `ledger`.
    public init(_ settings: Settings, bucket: TokenBucket, ledger: WarmLedger) {
        self.settings = settings
        self.bucket = bucket
        self.ledger = ledger
        self.slots = DispatchSemaphore(value: max(1, settings.concurrency))
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .milliseconds(Int64(settings.connectTimeout * 1000)), read: .milliseconds(Int64(settings.requestTimeout * 1000))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency))
        // Redirects are followed by GuardedRequest, on the template's host only.
        configuration.redirectConfiguration = .disallow
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

    /// Fetches the values of `entries`, blocking the calling thread (a warmer's worker thread,
    /// never an event loop) until each has a value or a failure.
    /// - Returns: one result per entry, in order.
    public func fetch(_ entries: [WarmEntry]) -> [Result<[UInt8], KeyFailure>] {
        var results = [Result<[UInt8], KeyFailure>?](repeating: nil, count: entries.count)
        var pending = Array(entries.indices)
        var attempt = 0
        while !pending.isEmpty {
            let attempts = fetchOnce(pending.map { entries[$0] })
            var again: [Int] = []
            var pause: Double = 0
            for (index, outcome) in zip(pending, attempts) {
                switch outcome {
                case .done(let result):
                    results[index] = result
                case .backOff(let failure, let retryAfter):
                    if attempt < settings.maxRetries {
                        again.append(index)
                        pause = max(pause, retryAfter ?? min(0.2 * Double(1 << attempt), 10))
                    } else {
                        results[index] = .failure(failure)
                    }
                }
            }
            if !again.isEmpty {
                ledger.count("origin_retries", again.count)
                bucket.pause(seconds: pause)
            }
            pending = again
            attempt += 1
        }
        return results.map { $0 ?? .failure(KeyFailure("origin_error", "no response")) }
    }

    enum Attempt: Sendable {
        case done(Result<[UInt8], KeyFailure>)
        case backOff(KeyFailure, retryAfter: Double?)
    }

    private final class Collector: Sendable {
        let attempts: Mutex<[Attempt?]>
        init(count: Int) { attempts = Mutex(Array(repeating: nil, count: count)) }
    }

    private func fetchOnce(_ entries: [WarmEntry]) -> [Attempt] {
        let collector = Collector(count: entries.count)
        let group = DispatchGroup()
        for (index, entry) in entries.enumerated() {
            guard let url = settings.template.url(for: entry) else {
                let what = settings.template.needsPathOrCaptures ? "a path or capture the template uses (give a jsonl manifest)" : "what the template needs"
                collector.attempts.withLock { $0[index] = .done(.failure(KeyFailure("template", "the manifest line lacks \(what)"))) }
                continue
            }
            if settings.template.usesPath, let why = RequestGuard.unsafePath(entry.path) {
                collector.attempts.withLock { $0[index] = .done(.failure(KeyFailure("path_unsafe", "\(why): \(entry.path)"))) }
                continue
            }
            guard settings.template.requestGuard.allows(url) else {
                collector.attempts.withLock {
                    $0[index] = .done(.failure(KeyFailure("off_host", "\(Redaction.url(url)) is not on the origin's host; not requested")))
                }
                continue
            }
            bucket.acquire()
            slots.wait()
            group.enter()
            let deadline = NIODeadline.now() + .milliseconds(Int64(settings.requestTimeout * 1000))
            let slots = self.slots
            GuardedRequest.execute(
                client: client, url: url, method: .GET, headers: headers, deadline: deadline, guard: settings.template.requestGuard,
                followRedirects: true
            ) { outcome in
                let attempt = Self.attempt(outcome, url: url)
                collector.attempts.withLock { $0[index] = attempt }
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        return collector.attempts.withLock { $0.map { $0 ?? .done(.failure(KeyFailure("origin_error", "no response"))) } }
    }

    private static func attempt(_ outcome: GuardedRequest.Outcome, url: String) -> Attempt {
        switch outcome {
        case .refusedRedirect(let location, let status):
            return .done(.failure(KeyFailure("origin_redirect_off_host", "GET \(Redaction.url(url)) returned \(status) to \(Redaction.url(location)), another host (or too many redirects); not followed")))
        case .response(let response, _):
            let code = Int(response.status.code)
            if (200..<300).contains(code) {
                let body = response.body.map { Array($0.readableBytesView) } ?? []
                return .done(.success(body))
            }
            let failure = KeyFailure("origin_http_\(code)", "GET \(Redaction.url(url)) returned \(code)")
            if code == 429 || code == 503 {
                return .backOff(failure, retryAfter: response.headers.first(name: "Retry-After").flatMap(retryAfterSeconds))
            }
            return .done(.failure(failure))
        case .failure(let error):
            if let error = error as? HTTPClientError,
                error == .readTimeout || error == .connectTimeout || error == .deadlineExceeded
            {
                return .done(.failure(KeyFailure("origin_timeout", "GET \(Redaction.url(url)) timed out (\(error))")))
            }
            return .done(.failure(KeyFailure("origin_error", "GET \(Redaction.url(url)) failed: \(error)")))
        }
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
