import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One batch of requests handed to the pools of an `HTTPFetcher`: the requests, a preallocated
/// slot for each one's attempt, and the count of those still in flight. The caller waits once,
/// on `done`, for the whole batch.
final class HTTPBatch: @unchecked Sendable {  // `slots`: each written once by the one connection that took its index, read after `done`
    let requests: [HTTPFetcher.Request]
    let slots: UnsafeMutableBufferPointer<HTTPFetcher.Attempt?>
    private let remaining: Atomic<Int>
    private let done = DispatchSemaphore(value: 0)
    /// Set (releasing) once the batch is built; a connection loads it (acquiring) when it takes
    /// a request of the batch from its route's queue, before it reads `requests` or writes a slot.
    private let built = Atomic(false)

    init(_ requests: [HTTPFetcher.Request]) {
        self.requests = requests
        slots = .allocate(capacity: requests.count)
        slots.initialize(repeating: nil)
        remaining = Atomic(requests.count)
        built.store(true, ordering: .releasing)
    }

    /// Orders the batch's construction (on the caller's thread) before what a connection does
    /// with it, for ThreadSanitizer: the batch reaches the connection through the route's
    /// `Mutex`, whose hand-over under contention happens in the kernel, out of ThreadSanitizer's
    /// sight (docs/tsan.md, "Mutex"), so the reads of `requests` outside the lock were reported
    /// as racing with the writes that built it. One load; on x86 a plain read.
    func taken() {
        _ = built.load(ordering: .acquiring)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Records the attempt of request `index`; the last one wakes `wait`.
    func finish(_ index: Int, _ attempt: HTTPFetcher.Attempt) {
        slots[index] = attempt
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.signal() }
    }

    /// Blocks until every request has its attempt in `slots`.
    func wait() {
        done.wait()
        // Orders every connection's write of its slot (each released by its decrement) before
        // the caller's reads, for ThreadSanitizer too, which may not see through the semaphore.
        _ = remaining.load(ordering: .acquiring)
    }
}

/// The connections of one route: a fixed number of keep-alive HTTP/1.1 connections, each on an
/// event loop of the shared group, taking the route's requests one at a time from a queue of
/// batches. A connection writes its next request from the completion of the last one, on its
/// event loop: no thread waits per request.
final class HTTPRoutePool: Sendable {
    /// The route's requests of one batch that no connection has taken yet.
    private struct Pending {
        let batch: HTTPBatch
        let indices: [Int]
        var next = 0
    }

    private struct Queue {
        var pending: [Pending] = []
        var idle: [HTTPConnection] = []
        var all: [HTTPConnection] = []
    }

    let route: HTTPFetcher.Route
    let fetcher: HTTPFetcher.Shared
    /// Each variant's request, encoded but for its target: method, `Host`, `User-Agent`, the
    /// headers.
    let templates: [HTTPRequestTemplate]
    /// nil for http.
    let tls: NIOSSLContext?
    /// Why https cannot be used on this route (the trust roots file does not load); nil when it can.
    let tlsFailure: String?
    private let queue = Mutex(Queue())
    /// Connects in progress: at most `maxConnecting` at once, so that a run's start does not
    /// send every SYN together to a server with a short listen backlog (Python's is 5). One: with
    /// four, connections completing and the next four starting outran a slow accept loop, the
    /// queue overflowed, the dropped SYN was retried after 1 s and `--connect-timeout 1` failed
    /// keys as origin_timeout (MemcachedWarmTests, 3 of 3 runs); a loopback connect takes well
    /// under a millisecond, so 64 connections one by one cost nothing measurable.
    private let connecting = Atomic(0)
    static let maxConnecting = 1

    init(route: HTTPFetcher.Route, templates: [HTTPRequestTemplate], connections count: Int, group: EventLoopGroup, fetcher: HTTPFetcher.Shared) {
        self.route = route
        self.templates = templates
        self.fetcher = fetcher
        var tls: NIOSSLContext?
        var tlsFailure: String?
        if route.requestGuard.scheme == "https" {
            do {
                var configuration = TLSConfiguration.makeClientConfiguration()
                if let file = fetcher.settings.trustRootsFile {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
                }
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                tlsFailure = "the TLS set-up failed (\(error)); check the trust roots file"
            }
        }
        self.tls = tls
        self.tlsFailure = tlsFailure
        let connections = (0..<max(1, count)).map { _ in HTTPConnection(eventLoop: group.next(), pool: self) }
        queue.withLock { q in
            q.idle = connections
            q.all = connections
        }
    }

    /// Queues the requests `indices` of `batch` and wakes as many idle connections as they need.
    /// - Complexity: O(*k*) for the *k* connections woken, under the route's lock.
    func enqueue(_ batch: HTTPBatch, _ indices: [Int]) {
        let woken = queue.withLock { q in
            q.pending.append(Pending(batch: batch, indices: indices))
            let woken = Array(q.idle.suffix(indices.count))
            q.idle.removeLast(woken.count)
            return woken
        }
        for connection in woken { connection.eventLoop.execute { connection.takeNext() } }
    }

    /// The next request for `connection`, or nil (and the connection is idle until `enqueue`
    /// wakes it).
    /// - Complexity: O(1) amortized.
    func next(for connection: HTTPConnection) -> (HTTPBatch, Int)? {
        queue.withLock { q in
            while let first = q.pending.first {
                if first.next < first.indices.count {
                    q.pending[0].next += 1
                    return (first.batch, first.indices[first.next])
                }
                q.pending.removeFirst()
            }
            q.idle.append(connection)
            return nil
        }
    }

    /// Takes one of the route's connect slots, or returns false when all are taken.
    func startConnect() -> Bool {
        var current = connecting.load(ordering: .relaxed)
        while current < Self.maxConnecting {
            let (exchanged, original) = connecting.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back a connect slot.
    func endConnect() { connecting.subtract(1, ordering: .relaxed) }

    /// Closes every connection and waits until they are closed.
    func shutdown() {
        for connection in queue.withLock({ $0.all }) {
            try? connection.eventLoop.submit { connection.shutdown() }.wait()
        }
    }
}

/// One keep-alive connection of a route, reconnected when the server closes it. Its state is
/// touched on `eventLoop` only.
final class HTTPConnection: @unchecked Sendable {  // every var is touched on `eventLoop` only
    /// The request in flight.
    private struct Job {
        let batch: HTTPBatch
        let index: Int
        /// The absolute URL being requested (the request's, or a redirect's target).
        var url: String
        var redirects = 0
        /// When the token was granted: the request's latency and deadline count from there.
        var started: Double = 0
        var deadline = NIODeadline.distantFuture
        /// The request went out on a connection that had served requests before: if the
        /// server closes it before answering (an idle keep-alive connection it timed out), the
        /// request is sent once more on a new connection.
        var reused = false
        var resent = false
        /// The token was granted and the request is being sent (or connected for): from here
        /// on the deadline holds, and a close of the connection concerns it.
        var sent = false
        var head: HTTPResponseParser.Head?
        var body: ByteBuffer?
        var bodyBytes = 0
    }

    let eventLoop: EventLoop
    // The pool owns its connections, and a connection is only called while its pool's fetcher
    // runs: `unowned(unsafe)`, as `unowned` checked (and counted) the pool's life on every
    // use, per request.
    unowned(unsafe) let pool: HTTPRoutePool
    /// The pool's fetcher's settings, copied once: read per request.
    private let settings: HTTPFetcher.Settings
    private var channel: Channel?
    private var handler: HTTPConnectionHandler?
    private var connecting = false
    private var served = 0
    private var job: Job?
    private var watchdog: Scheduled<Void>?
    private var watchdogDeadline = NIODeadline.distantFuture

    init(eventLoop: EventLoop, pool: HTTPRoutePool) {
        self.eventLoop = eventLoop
        self.pool = pool
        settings = pool.fetcher.settings
    }

    /// Takes the next request of the route, if any, and sends it once the bucket gives a token.
    func takeNext() {
        guard job == nil, let (batch, index) = pool.next(for: self) else { return }
        batch.taken()
        job = Job(batch: batch, index: index, url: batch.requests[index].url)
        waitForToken()
    }

    private func waitForToken() {
        let wait = pool.fetcher.bucket.reserve()
        if wait > 0 {
            eventLoop.scheduleTask(in: .nanoseconds(Int64(min(wait, 1) * 1e9))) { self.waitForToken() }
            return
        }
        job?.started = TokenBucket.now()
        job?.deadline = .now() + .nanoseconds(Int64(settings.requestTimeout * 1e9))
        job?.sent = true
        send()
    }

    /// Writes the job's request, connecting first when there is no connection.
    private func send() {
        // `job` is read and changed in place: each copy of it retains and releases its parts.
        guard let variant = job.map({ $0.batch.requests[$0.index].variant }) else { return }
        armWatchdog()
        guard let handler, let channel else {
            connect()
            return
        }
        job?.reused = served > 0
        job?.head = nil
        job?.body = nil
        job?.bodyBytes = 0
        guard let url = job?.url, let redirects = job?.redirects else { return }
        let template = pool.templates[variant]
        var request = channel.allocator.buffer(capacity: template.capacity(for: url))
        template.write(url, asGET: redirects > 0 && template.method != .HEAD, into: &request)
        handler.write(request, noBody: template.method == .HEAD)
    }

    private func connect() {
        guard !connecting else { return }
        if let why = pool.tlsFailure {
            complete(.failure(HTTPFetchError.tls(why)))
            return
        }
        connecting = true
        open()
    }

    /// Opens the connection once the route has a connect slot free (asking again every 2 ms).
    private func open() {
        guard pool.startConnect() else {
            eventLoop.scheduleTask(in: .milliseconds(2)) { self.open() }
            return
        }
        let route = pool.route
        let host = route.connectHost ?? route.requestGuard.host
        let tls = pool.tls
        let serverName = NetworkError.isIPAddress(route.requestGuard.host) ? nil : route.requestGuard.host
        let handler = HTTPConnectionHandler(self)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(Int64(settings.connectTimeout * 1e9)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: route.requestGuard.port)
            .whenComplete { result in
                self.pool.endConnect()
                self.connecting = false
                switch result {
                case .success(let channel):
                    self.channel = channel
                    self.handler = handler
                    self.served = 0
                    self.send()
                case .failure(let error):
                    self.complete(.failure(error))
                }
            }
    }

    /// Closes the connection; a request in flight is left to its caller.
    func close() {
        let channel = self.channel
        self.channel = nil
        handler = nil
        channel?.close(promise: nil)
    }

    /// Closes the connection and stops its timer: the run is over.
    func shutdown() {
        watchdog?.cancel()
        watchdog = nil
        close()
    }

    // MARK: the handler's events

    func received(_ part: HTTPResponseParser.Event, from handler: HTTPConnectionHandler) {
        // `job` is changed in place: a copy would make each body chunk copy the body so far.
        guard handler === self.handler, job != nil else { return }
        switch part {
        case .head(let head):
            job?.head = head
        case .body(let bytes):
            job?.bodyBytes += bytes.readableBytes
            if let length = job?.bodyBytes, length > settings.maxBodyBytes {
                close()
                complete(.failure(HTTPFetchError.bodyTooLarge(settings.maxBodyBytes)))
            } else if settings.keepBody {
                if job?.body == nil { job?.body = bytes } else { job?.body?.writeImmutableBuffer(bytes) }
            }
        case .end:
            responded()
        }
    }

    func closed(_ handler: HTTPConnectionHandler, error: (any Error)?) {
        guard handler === self.handler else { return }
        close()
        // A request still waiting for its token opens a new connection when it gets one.
        guard let job, job.sent else { return }
        if job.reused && job.head == nil && !job.resent {
            self.job?.resent = true
            send()
            return
        }
        complete(.failure(error ?? HTTPFetchError.closed))
    }

    private func responded() {
        guard let job, let head = job.head else { return }
        served += 1
        if !head.keepAlive { close() }
        let response = HTTPFetcher.Response(
            status: HTTPResponseStatus(statusCode: head.status), headers: head.headers, body: job.body, bodyBytes: job.bodyBytes)
        let code = head.status
        guard settings.followRedirects, [301, 302, 303, 307, 308].contains(code), let location = head.headers.first(name: "Location")
        else {
            complete(.response(response, redirects: job.redirects))
            return
        }
        let route = pool.route
        guard job.redirects < HTTPFetcher.maxRedirects, let next = route.requestGuard.redirectTarget(location, from: job.url) else {
            complete(.refusedRedirect(location: location, status: code))
            return
        }
        self.job?.url = next
        self.job?.redirects += 1
        self.job?.resent = false
        send()
    }

    /// Makes sure the timer fires by the job's deadline: a timer already set for that time or
    /// earlier is kept (it re-arms itself when it fires), a later one is replaced.
    private func armWatchdog() {
        guard job?.sent == true, let deadline = job?.deadline else { return }
        if watchdog != nil && watchdogDeadline <= deadline { return }
        watchdog?.cancel()
        watchdogDeadline = deadline
        watchdog = eventLoop.scheduleTask(deadline: deadline) { self.watchdogFired() }
    }

    /// One timer per connection, not per request: when it fires, the request in flight (if it
    /// is not a later one whose deadline is still ahead) has timed out.
    private func watchdogFired() {
        watchdog = nil
        guard job?.sent == true, let deadline = job?.deadline else { return }
        if deadline > .now() {
            armWatchdog()
            return
        }
        close()
        complete(.failure(HTTPFetchError.timeout))
    }

    /// Hands the job's outcome to the fetcher and takes the next request.
    private func complete(_ outcome: GuardedRequest.Outcome) {
        guard let job = job.take() else { return }
        let request = job.batch.requests[job.index]
        let fetcher = pool.fetcher
        fetcher.observer?(outcome, TokenBucket.now() - job.started, request)
        job.batch.finish(job.index, fetcher.attempt(outcome, url: job.url))
        takeNext()
    }
}

/// The last handler of a connection's pipeline (after TLS, for https): writes requests, parses
/// the bytes that come back (`HTTPResponseParser`) and hands the responses and the connection's
/// end to its `HTTPConnection`.
final class HTTPConnectionHandler: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's event loop only
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: HTTPConnection
    private var context: ChannelHandlerContext?
    private var parser = HTTPResponseParser()
    private var error: (any Error)?

    init(_ connection: HTTPConnection) { self.connection = connection }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes one request without a body (its bytes, `HTTPRequestTemplate`'s); `noBody` for a
    /// `HEAD`, whose response has none.
    func write(_ request: ByteBuffer, noBody: Bool) {
        guard let context else { return }
        parser.expectResponse(noBody: noBody)
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        do {
            // One event at a time: the connection may write its next request from an `.end`,
            // which sets the parser for that request's response.
            while let event = try parser.next(&bytes) { connection.received(event, from: self) }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.error == nil { self.error = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body without a length ends with the connection.
        if error == nil, let end = parser.endOfInput() { connection.received(end, from: self) }
        connection.closed(self, error: error)
    }
}

/// Why a request got no response, besides the network's own errors.
enum HTTPFetchError: Error, CustomStringConvertible {
    /// No response before the request's deadline.
    case timeout
    /// The server closed the connection before the response was complete.
    case closed
    /// The body was longer than the limit.
    case bodyTooLarge(Int)
    /// https cannot be set up.
    case tls(String)
    /// The bytes that came back are not an HTTP/1.x response; why.
    case malformed(String)

    var description: String {
        switch self {
        case .timeout: "no response in time"
        case .closed: "the server closed the connection before the response was complete"
        case .bodyTooLarge(let limit): "the response body is over \(limit) bytes"
        case .tls(let why): why
        case .malformed(let why): "the response is not valid HTTP/1.1: \(why)"
        }
    }
}
