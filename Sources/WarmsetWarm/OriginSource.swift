import Foundation
import NIOCore
import WarmsetModel

/// Where a key's value comes from when it is fetched over HTTP (`--origin TEMPLATE`): the 2xx
/// response body is the value; any other status, a timeout or a connection error is that key's
/// failure. Shared by every warmer.
///
/// The requests go through the run's `HTTPFetcher` (keep-alive connections, `concurrency` in flight, the
/// run's `TokenBucket`, 429/503 back-off with `Retry-After`, up to `maxRetries` times). Requests
/// stay on the template's host (`RequestGuard`): a `{path}` that would leave it is refused, and
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
        /// For an https template: a PEM file of the certificate authorities the origin is
        /// verified against instead of the system's (`--tls-ca`); nil for the system's.
        public var trustRootsFile: String?

        /// Settings for `template`.
        public init(template: OriginTemplate) {
            self.template = template
        }
    }

    private let settings: Settings
    private let fetcher: HTTPFetcher

    /// An origin client limited by `bucket`, counting retries in `ledger`.
    public init(_ settings: Settings, bucket: TokenBucket, ledger: WarmLedger) {
        self.settings = settings
        var fetch = HTTPFetcher.Settings(codes: .origin, retryCounter: "origin_retries")
        fetch.headers = settings.headers
        fetch.userAgent = settings.userAgent
        fetch.concurrency = settings.concurrency
        fetch.connectTimeout = settings.connectTimeout
        fetch.requestTimeout = settings.requestTimeout
        fetch.maxRetries = settings.maxRetries
        fetch.followRedirects = true
        fetch.trustRootsFile = settings.trustRootsFile
        self.fetcher = HTTPFetcher(fetch, guard: settings.template.requestGuard, bucket: bucket, ledger: ledger)
    }

    /// Closes the client's connections. Call once, when the run is over.
    public func shutdown() {
        fetcher.shutdown()
    }

    /// Fetches the values of `entries`, blocking the calling thread (a warmer's worker thread,
    /// never an event loop) until each has a value or a failure.
    /// - Returns: one result per entry, in order.
    public func fetch(_ entries: [WarmEntry]) -> [Result<[UInt8], KeyFailure>] {
        var results = [Result<[UInt8], KeyFailure>?](repeating: nil, count: entries.count)
        var urls: [String] = []
        var requested: [Int] = []  // the entry of each URL
        for (index, entry) in entries.enumerated() {
            switch url(for: entry) {
            case .success(let url):
                urls.append(url)
                requested.append(index)
            case .failure(let failure):
                results[index] = .failure(failure)
            }
        }
        for (index, (url, fetched)) in zip(requested, zip(urls, fetcher.fetch(urls))) {
            switch fetched {
            case .response(let response, _) where (200..<300).contains(Int(response.status.code)):
                results[index] = .success(response.body.map { Array($0.readableBytesView) } ?? [])
            case .response(let response, _):
                results[index] = .failure(fetcher.statusFailure(response, url: url))
            case .failed(let failure):
                results[index] = .failure(failure)
            }
        }
        return results.map { $0 ?? .failure(KeyFailure("origin_error", "no response")) }
    }

    /// The URL of `entry`'s value, or why there is none to request: the template needs what
    /// the entry lacks, or the URL would leave the origin's host.
    private func url(for entry: WarmEntry) -> Result<String, KeyFailure> {
        guard let url = settings.template.url(for: entry) else {
            let what = settings.template.needsPathOrCaptures ? "a path or capture the template uses (give a jsonl manifest)" : "what the template needs"
            return .failure(KeyFailure("template", "the manifest line lacks \(what)"))
        }
        if settings.template.usesPath, let why = RequestGuard.unsafePath(entry.path) {
            return .failure(KeyFailure("path_unsafe", "\(why): \(entry.path)"))
        }
        // No URL parse per key: the template's host is literal (OriginTemplate refuses a
        // placeholder in it or right after it, but `{path}`), keys and captures are
        // percent-encoded (no `/`, `?` or `#` left) and a `{path}` passed `unsafePath` above.
        return .success(url)
    }
}
