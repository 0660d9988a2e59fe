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
    /// The nodes of a cache fleet behind the base URL (`--http-node HOST:PORT`): every request
    /// goes to each of them, with the base URL's `Host` header and TLS server name (curl's
    /// `--connect-to`). Empty: requests go to the base URL's host.
    public var nodes: [HTTPNode] = []
    /// Header sets the cache keys on (`--variant 'Accept-Encoding: br'`): each key is requested
    /// once per variant (on each node). Empty: once, with `headers` alone.
    public var variants: [[(String, String)]] = []
    /// `--verify`: after the warm-up, request this many warmed keys again (the first by rank) on
    /// every node × variant and report the share that were hits; 0 for no check.
    public var verifySample = 0
    /// A PEM file of the certificate authorities to verify an https base URL's certificate
    /// against (on every node), instead of the system's; nil for the system's.
    public var trustRootsFile: String?

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

/// One node of an HTTP cache fleet, `host:port`, that answers for the base URL's host.
public struct HTTPNode: Sendable, Hashable, CustomStringConvertible {
    /// A host name or an IP address (an IPv6 address without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int

    /// `host:port` (`[::1]:8080` for IPv6).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `HOST:PORT` or `[IPv6]:PORT`; the port is required.
    /// - Throws: `WarmError` naming `option` when the host is empty or the port is not 1…65535.
    public init(_ text: String, option: String = "--http-node") throws(WarmError) {
        let fail = WarmError("\(option) '\(text)'", "expected HOST:PORT, e.g. 10.0.0.11:80 or [fd00::11]:443")
        var host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail }
            portText = after.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { throw fail }
        }
        host = host.drop { $0 == " " }
        guard let port = Int(portText), (1...65535).contains(port), !host.isEmpty,
            !host.contains(where: { $0 == "/" || $0 == "@" || $0 == " " || $0 == "?" || $0 == "#" })
        else { throw fail }
        self.host = String(host)
        self.port = port
    }
}

/// What a response says about the cache that answered it: `X-Cache-Status` (nginx's
/// `$upstream_cache_status`), `CF-Cache-Status` (Cloudflare), `X-Cache` (Varnish setups, CDNs:
/// `HIT` or `MISS` anywhere in the value), else `Age` (over 0: a hit; 0: a miss).
public enum HTTPCacheStatus {
    /// The statuses counted by name; any other value of `X-Cache-Status` or `CF-Cache-Status`
    /// (and an `X-Cache` with neither HIT nor MISS) is `other`.
    public static let names = Set(all[..<other])

    /// `hit`, `miss`, one of `names`, `other`, or `unknown` when no header tells.
    public static func of(_ headers: HTTPResponseHeaders) -> String { all[index(of: headers)] }

    /// Every status `of` tells, in a fixed order: counters keep an index into it.
    static let all = ["hit", "miss", "expired", "stale", "updating", "revalidated", "bypass", "dynamic", "other", "unknown"]
    private static let other = 8
    private static let unknown = 9

    /// The index in `all` of what `headers` tell.
    static func index(of headers: HTTPResponseHeaders) -> Int {
        switch headers.first(oneOf: headerNames) {
        case (0, let value)?, (1, let value)?:
            return all[..<other].firstIndex(of: value.lowercased()) ?? other
        case (2, let value)?:
            let upper = value.uppercased()
            return upper.contains("HIT") ? 0 : upper.contains("MISS") ? 1 : other
        case (_, let value)?:
            guard let age = Int(value) else { return unknown }
            return age > 0 ? 0 : 1
        case nil:
            return unknown
        }
    }

    /// The headers that tell, the first-wanted first (looked up in one pass over a response's).
    private static let headerNames = HTTPResponseHeaders.Names(["X-Cache-Status", "CF-Cache-Status", "X-Cache", "Age"])
}

/// Warms whatever caches behind a URL (an application's in-process cache, an nginx
/// `proxy_cache`, Varnish, a CDN edge) by requesting each key's path: `METHOD base + path`, once
/// per node (`nodes`) and variant (`variants`). A 2xx (or a 3xx not followed) on every node ×
/// variant counts the key warmed; other statuses fail it by code, naming the node and variant.
/// 429 and 503 pause every request for `Retry-After` (or an exponential back-off) and the request
/// is tried again. Requests only ever go to the base URL's scheme, host and port (`RequestGuard`);
/// with nodes, to each node's address with the base URL's host as `Host` and TLS server name.
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

    /// Runs the warm-up (then `--verify`'s second requests) and accounts for every key; the
    /// report's `http` holds status and cache-status counts, per node with nodes, latency
    /// percentiles and bytes received.
    /// - Throws: `WarmError` when the base URL is not an absolute http(s) URL.
    public func warm(_ plan: WarmPlan, progress: (@Sendable (WarmProgress) -> Void)?) throws(WarmError) -> WarmReport {
        let requestGuard = try RequestGuard(url: settings.baseURL, option: "--http")
        let ledger = WarmLedger(total: plan.entries.count, limit: settings.failureLimit)
        let run = try HTTPWarmRun(settings: settings, requestGuard: requestGuard, ledger: ledger, userAgent: "warmset/\(userAgentVersion)")
        defer { run.shutdown() }
        // One lane; a few threads keep batches flowing, the fetcher bounds what is in flight.
        WarmWorkers.run(
            lanes: [plan.entries], threadsPerLane: 2, batchSize: max(8, settings.concurrency), ledger: ledger, progress: progress,
            work: { batches in while let batch = batches.next() { run.warm(batch) } })
        var report = ledger.report(target: target, source: "\(settings.method.rawValue) {path}", dryRun: false)
        var http = run.statistics.report(nodes: settings.nodes.isEmpty ? nil : settings.nodes.map(\.description))
        if settings.verifySample > 0 && !report.stoppedEarly {
            http.verify = run.verify(Self.sample(plan, failures: report.failures, count: settings.verifySample))
        }
        report.http = http
        return report
    }

    /// The first `count` keys of the plan (by rank) that were warmed.
    static func sample(_ plan: WarmPlan, failures: [WarmReport.Failure], count: Int) -> [WarmEntry] {
        let failed = Set(failures.map(\.key))
        var sample: [WarmEntry] = []
        for entry in plan.entries where !failed.contains(entry.key) {
            if sample.count == count { break }
            sample.append(entry)
        }
        return sample
    }
}

/// What the requests of an HTTP warm run saw, recorded from the event loops.
final class HTTPWarmStatistics: Sendable {
    /// Responses by status code and by cache status, in arrays: counting one is an increment,
    /// not a dictionary lookup of a string.
    struct Counts {
        /// By status code (100–999).
        var statuses = [Int](repeating: 0, count: 1000)
        /// By index in `HTTPCacheStatus.all`.
        var cache = [Int](repeating: 0, count: HTTPCacheStatus.all.count)

        mutating func count(status: Int, cache index: Int?) {
            if (0..<1000).contains(status) { statuses[status] += 1 }
            if let index { cache[index] += 1 }
        }

        /// The codes seen, as the report gives them: `"200": 7`.
        var statusCounts: [String: Int] {
            Dictionary(uniqueKeysWithValues: statuses.indices.filter { statuses[$0] > 0 }.map { (String($0), statuses[$0]) })
        }

        /// The cache statuses seen: `"hit": 7`.
        var cacheStatus: [String: Int] {
            Dictionary(uniqueKeysWithValues: cache.indices.filter { cache[$0] > 0 }.map { (HTTPCacheStatus.all[$0], cache[$0]) })
        }
    }

    struct NodeCounts {
        var requests = 0
        var ok = 0
        var failed = 0
        var counts = Counts()
    }

    struct Stats {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var counts = Counts()
        var responses = 0
        var bytes: Int64 = 0
        var nodes: [NodeCounts]
    }

    private let state: Mutex<Stats>
    /// False once `--verify` sends its requests, whose responses are not the warm-up's.
    let recording = Atomic<Bool>(true)

    init(routes: Int) {
        state = Mutex(Stats(nodes: Array(repeating: NodeCounts(), count: routes)))
    }

    /// Counts one request's outcome on `route`: a response's status, cache status, latency and
    /// body bytes; a refused redirect's status.
    func record(_ outcome: GuardedRequest.Outcome, seconds: Double, route: Int) {
        switch outcome {
        case .response(let response, _):
            let bytes = response.bodyBytes
            let code = Int(response.status.code)
            let cache = HTTPCacheStatus.index(of: response.headers)
            state.withLock { s in
                _ = s.histogram.record(UInt64(max(1, seconds * 1_000_000)))
                s.counts.count(status: code, cache: cache)
                s.responses += 1
                s.bytes += Int64(bytes)
                s.nodes[route].requests += 1
                s.nodes[route].counts.count(status: code, cache: cache)
            }
        case .refusedRedirect(_, let status):
            state.withLock { s in
                s.counts.count(status: status, cache: nil)
                s.nodes[route].requests += 1
                s.nodes[route].counts.count(status: status, cache: nil)
            }
        case .failure:
            state.withLock { $0.nodes[route].requests += 1 }
        }
    }

    /// Counts the last outcome of node × variant requests of `route`: `ok` warmed, the others not.
    func settled(route: Int, ok: Int, failed: Int) {
        state.withLock { s in
            s.nodes[route].ok += ok
            s.nodes[route].failed += failed
        }
    }

    /// The numbers for the report; `nodes` names the routes when they are a fleet's nodes.
    func report(nodes names: [String]?) -> WarmReport.HTTPStats {
        state.withLock { s in
            let ms = { (us: UInt64) in Double(us) / 1000 }
            let empty = s.histogram.totalCount == 0
            var stats = WarmReport.HTTPStats(
                statusCounts: s.counts.statusCounts, responses: s.responses, bytesReceived: s.bytes,
                latencyP50Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(50)), latencyP90Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(90)),
                latencyP99Ms: empty ? 0 : ms(s.histogram.valueAtPercentile(99)), latencyMaxMs: empty ? 0 : ms(s.histogram.max))
            stats.cacheStatus = s.counts.cacheStatus
            stats.nodes = names.map { names in
                zip(names, s.nodes).map { name, n in
                    WarmReport.HTTPStats.NodeStats(
                        node: name, requests: n.requests, ok: n.ok, failed: n.failed, statusCounts: n.counts.statusCounts,
                        cacheStatus: n.counts.cacheStatus)
                }
            }
            return stats
        }
    }
}

/// The shared state of one HTTP warm run: the fetcher, its routes and the statistics.
final class HTTPWarmRun: Sendable {
    let settings: HTTPWarmSettings
    let requestGuard: RequestGuard
    let ledger: WarmLedger
    let fetcher: HTTPFetcher
    let statistics: HTTPWarmStatistics
    /// Each route's base URL, to which a key's path is appended: the base URL, or (per node) the
    /// base URL with the node's port.
    let bases: [String]
    /// Each route's and variant's name in a failure: `node 10.0.0.11:80, variant 'Accept-Encoding: br'`;
    /// empty with neither nodes nor variants, so that failures read as they always have.
    let names: [[String]]
    /// The base URL holds no `?` or `#`: a path that `RequestGuard.unsafePath` passes (one
    /// leading `/`) then cannot change its host, and is not parsed again per key.
    let plainBase: Bool

    init(settings: HTTPWarmSettings, requestGuard: RequestGuard, ledger: WarmLedger, userAgent: String) throws(WarmError) {
        self.settings = settings
        self.requestGuard = requestGuard
        self.ledger = ledger
        var fetch = HTTPFetcher.Settings(codes: .http, retryCounter: "retries")
        fetch.method = settings.method == .head ? .HEAD : .GET
        fetch.headers = settings.headers
        fetch.variants = settings.variants
        fetch.userAgent = userAgent
        fetch.concurrency = settings.concurrency
        fetch.connectTimeout = settings.connectTimeout
        fetch.requestTimeout = settings.timeout
        fetch.maxRetries = settings.maxRetries
        fetch.followRedirects = settings.followRedirects
        fetch.trustRootsFile = settings.trustRootsFile
        // The bytes received are counted; the body itself is not needed.
        fetch.keepBody = false
        let (routes, bases) = try Self.routes(settings, requestGuard)
        self.bases = bases
        self.plainBase = !settings.trimmedBase.contains(where: { $0 == "?" || $0 == "#" })
        let statistics = HTTPWarmStatistics(routes: routes.count)
        self.statistics = statistics
        let variantNames = settings.variants.map { "variant '" + $0.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "'" }
        self.names = routes.map { route in
            let node = route.node.map { "node \($0)" }
            return (variantNames.isEmpty ? [nil] : variantNames.map(Optional.some)).map { variant in
                [node, variant].compactMap { $0 }.joined(separator: ", ")
            }
        }
        self.fetcher = HTTPFetcher(
            fetch, routes: routes, bucket: TokenBucket(rate: settings.rate), ledger: ledger,
            observer: { outcome, seconds, request in
                guard statistics.recording.load(ordering: .relaxed) else { return }
                statistics.record(outcome, seconds: seconds, route: request.route)
                if case .response(_, let redirects) = outcome, redirects > 0 { ledger.count("redirects_followed", redirects) }
            })
    }

    /// The fetcher's routes and their base URLs: the base URL's host, or each node. A node's
    /// route keeps the base URL's scheme, host and path with the node's port; its client connects
    /// to the node's host, and `Host` is the base URL's.
    static func routes(_ settings: HTTPWarmSettings, _ requestGuard: RequestGuard) throws(WarmError) -> ([HTTPFetcher.Route], [String]) {
        let base = settings.trimmedBase
        if settings.nodes.isEmpty { return ([HTTPFetcher.Route(requestGuard)], [base]) }
        let defaultPort = requestGuard.scheme == "https" ? 443 : 80
        let host = requestGuard.host.contains(":") ? "[\(requestGuard.host)]" : requestGuard.host
        let hostHeader = requestGuard.port == defaultPort ? host : "\(host):\(requestGuard.port)"
        var routes: [HTTPFetcher.Route] = []
        var bases: [String] = []
        for node in settings.nodes {
            guard var components = URLComponents(string: base) else { throw WarmError("--http '\(Redaction.url(base))'", "does not parse as a URL") }
            components.port = node.port
            guard let nodeBase = components.string else { throw WarmError("--http-node \(node)", "cannot be combined with the --http URL") }
            let nodeGuard = try RequestGuard(url: nodeBase, option: "--http-node \(node)")
            routes.append(HTTPFetcher.Route(node: node.description, requestGuard: nodeGuard, connectHost: node.host, hostHeader: hostHeader))
            bases.append(nodeBase)
        }
        return (routes, bases)
    }

    func shutdown() { fetcher.shutdown() }

    /// The key's path, or why it is not requested.
    private func path(of entry: WarmEntry) -> Result<String, KeyFailure> {
        // A keys manifest has no paths; with no rule the key is the normalized path.
        let path = entry.path.isEmpty && entry.key.hasPrefix("/") ? entry.key : entry.path
        if path.isEmpty {
            return .failure(KeyFailure("no_path", "the manifest line has no path (write a jsonl manifest)"))
        } else if let why = RequestGuard.unsafePath(path) {
            return .failure(KeyFailure("path_unsafe", "\(why): \(path)"))
        } else if !plainBase && !requestGuard.allows(settings.trimmedBase + path) {
            return .failure(KeyFailure("off_host", "\(path) would leave \(requestGuard.host); not requested"))
        }
        return .success(path)
    }

    /// Every node × variant request of each path, key by key.
    private func requests(_ paths: [String]) -> [HTTPFetcher.Request] {
        var requests: [HTTPFetcher.Request] = []
        requests.reserveCapacity(paths.count * bases.count * max(1, settings.variants.count))
        for path in paths {
            for (route, base) in bases.enumerated() {
                for variant in 0..<max(1, settings.variants.count) {
                    requests.append(HTTPFetcher.Request(url: base + path, route: route, variant: variant))
                }
            }
        }
        return requests
    }

    /// Whether a last response warms the key: a 2xx, or a 3xx not followed.
    private static func warms(_ response: HTTPFetcher.Response) -> Bool { (200..<400).contains(Int(response.status.code)) }

    /// Requests a batch on every node × variant (the fetcher retries 429/503 after the pause)
    /// and counts each key's outcome: warmed when every request warmed it, else failed with the
    /// first failure, naming its node and variant.
    func warm(_ entries: [WarmEntry]) {
        var pending: [WarmEntry] = []
        var paths: [String] = []
        for entry in entries {
            switch path(of: entry) {
            case .success(let path):
                pending.append(entry)
                paths.append(path)
            case .failure(let failure):
                ledger.failed(key: entry.key, failure)
            }
        }
        if pending.isEmpty { return }
        let requests = requests(paths)
        let fetched = fetcher.fetch(requests)
        let perKey = requests.count / pending.count
        var warmed = 0
        var ok = [Int](repeating: 0, count: bases.count)
        var failed = [Int](repeating: 0, count: bases.count)
        for (k, entry) in pending.enumerated() {
            var failures: [(HTTPFetcher.Request, KeyFailure)] = []
            for i in k * perKey..<(k + 1) * perKey {
                let request = requests[i]
                switch fetched[i] {
                case .response(let response, _) where Self.warms(response):
                    ok[request.route] += 1
                case .response(let response, _):
                    failed[request.route] += 1
                    failures.append((request, fetcher.statusFailure(response, url: request.url)))
                case .failed(let failure):
                    failed[request.route] += 1
                    failures.append((request, failure))
                }
            }
            if let (request, first) = failures.first {
                ledger.failed(key: entry.key, describe(first, request, of: failures.count, perKey))
            } else {
                warmed += 1
            }
        }
        for route in bases.indices { statistics.settled(route: route, ok: ok[route], failed: failed[route]) }
        // Nothing is written: the bytes received are in the report's http.bytes_received.
        ledger.warmed(count: warmed, bytes: 0)
    }

    /// A key's failure: the first failed request's, naming its node and variant (when there are
    /// any) and how many of the key's requests failed.
    private func describe(_ failure: KeyFailure, _ request: HTTPFetcher.Request, of failedCount: Int, _ perKey: Int) -> KeyFailure {
        let name = names[request.route][request.variant]
        if name.isEmpty { return failure }
        let more = failedCount > 1 ? " (\(failedCount) of the key's \(perKey) requests failed)" : ""
        return KeyFailure(failure.reason, "\(name): \(failure.detail)\(more)")
    }

    /// Requests every sampled key again on every node × variant and counts what the caches said.
    func verify(_ sample: [WarmEntry]) -> WarmReport.HTTPStats.VerifyStats {
        statistics.recording.store(false, ordering: .relaxed)
        let paths = sample.compactMap { try? path(of: $0).get() }
        let requests = requests(paths)
        var counts: [String: Int] = [:]
        var failed = 0
        for fetched in fetcher.fetch(requests) {
            switch fetched {
            case .response(let response, _) where Self.warms(response):
                counts[HTTPCacheStatus.of(response.headers), default: 0] += 1
            case .response, .failed:
                failed += 1
            }
        }
        let hits = counts["hit", default: 0]
        let misses = counts["miss", default: 0]
        let unknown = counts["unknown", default: 0]
        return WarmReport.HTTPStats.VerifyStats(
            keys: paths.count, requests: requests.count, hits: hits, misses: misses,
            other: requests.count - failed - hits - misses - unknown, unknown: unknown, failed: failed)
    }
}
