import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP listener serving `GET /metrics` (Prometheus text exposition) and nothing else,
/// on one event-loop thread.
public final class MetricsServer {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port bound (useful when 0 was asked for).
    public let port: Int

    /// Listens on `host:port`.
    /// - Throws: `WatchError` when the address cannot be bound.
    public init(host: String, port: Int, metrics: WatchMetrics) throws(WatchError) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(metrics: metrics))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw WatchError(path: "\(host):\(port)", "cannot listen for --metrics-listen (\(error)); pick another address or port")
        }
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Answers each request with the metrics (GET /metrics) or 404.
final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let metrics: WatchMetrics

    init(metrics: WatchMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let found = request.method == .GET && (path == "/metrics" || path == "/")
        let body = found ? metrics.render() : "not found: try GET /metrics\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
