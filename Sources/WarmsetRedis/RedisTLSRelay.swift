import Foundation
import WarmsetWarm
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// The TLS path of a `rediss://` connection. hiredis 0.14 has no TLS, so hiredis talks plain RESP
/// over one end of a `socketpair(AF_UNIX)`; the other end and a TLS client channel to the
/// server run on one small SwiftNIO event loop group and are glued byte for byte
/// (`RedisTLSGlue`). The handshake, and one PING to learn that the server accepted it (a server
/// that wants a client certificate says so only after the client's handshake is done), finish
/// within the connect timeout before hiredis gets its end.
enum RedisTLSRelay {
    /// One event loop for every TLS connection of the process: the relay only copies and
    /// encrypts, and the warm workers' threads do the rest.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Connects to `host:port` over TLS and returns the file descriptor hiredis reads and
    /// writes plain RESP on (closing it ends the TLS connection).
    /// - Throws: `RedisError` of kind `.connect`, one sentence naming what failed and the fix.
    static func connect(host: String, port: Int, settings: RedisTLSSettings, timeout: Double, server: String) throws(RedisError) -> Int32 {
        let context = try context(for: settings, server: server)
        // An IP address is not sent as SNI; NIOSSL then checks it against the IP addresses of
        // the certificate (the peer address it connected to).
        let serverName = NetworkError.isIPAddress(host) ? nil : host
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1_000_000_000))
        let loop = group.next()
        let ready = loop.makePromise(of: Void.self)
        let tls: Channel
        do {
            tls = try ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(Int64(timeout * 1_000_000_000)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandlers(handler, RedisTLSProbe(deadline: deadline, done: ready))
                    }
                }
                .connect(host: host, port: port).wait()
        } catch {
            ready.fail(RedisTLSProbe.Closed())
            throw RedisError(
                .connect, server: server, operation: "connecting", message: connectMessage(error), hint: "is redis-server running there, and reachable?")
        }
        do {
            try ready.futureResult.wait()
        } catch {
            tls.close(promise: nil)
            throw handshakeError(error, host: host, settings: settings, server: server)
        }
        do {
            return try relay(tls)
        } catch {
            tls.close(promise: nil)
            let message = error is RedisTLSProbe.Closed ? "the server closed the connection after the TLS handshake" : "\(error)"
            throw RedisError(.connect, server: server, operation: "starting the TLS relay", message: message)
        }
    }

    /// A socketpair: one end glued to `tls`, the other end returned for hiredis.
    private static func relay(_ tls: Channel) throws -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw IOError(errnoCode: errno, reason: "socketpair")
        }
        let local = ends[1]
        do {
            _ = try ClientBootstrap(group: tls.eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Both channels are on the same event loop, so the two halves may call each other.
                        let (near, far) = RedisTLSGlue.matchedPair()
                        // The server may have hung up since the PING; on this loop nothing changes
                        // until the initializer returns, and a later close reaches the glue.
                        guard tls.isActive else { throw RedisTLSProbe.Closed() }
                        let tlsPipeline = tls.pipeline.syncOperations
                        try tlsPipeline.removeHandler(tlsPipeline.handler(type: RedisTLSProbe.self)).whenComplete { _ in }
                        try tlsPipeline.addHandler(far)
                        try channel.pipeline.syncOperations.addHandler(near)
                    }
                }
                .withConnectedSocket(local).wait()
        } catch {
            close(ends[0])
            throw error
        }
        return ends[0]
    }

    /// The NIOSSL context for `settings`: the trust roots, verification and client identity.
    /// - Throws: `RedisError` of kind `.url` naming the file that cannot be used.
    static func context(for settings: RedisTLSSettings, server: String) throws(RedisError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if settings.insecure { configuration.certificateVerification = .none }
        func unusable(_ option: String, _ file: String, _ error: any Error) -> RedisError {
            RedisError(
                .url, server: server, operation: "reading \(option) \(file)", message: "\(error)",
                hint: "give a readable PEM file")
        }
        if let ca = settings.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw unusable("--tls-ca", ca, error)
            }
        }
        switch (settings.certificateFile, settings.keyFile) {
        case (let certificate?, let key?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch {
                throw unusable("--tls-cert", certificate, error)
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw unusable("--tls-key", key, error)
            }
        case (nil, nil):
            break
        default:
            throw RedisError(.url, server: server, operation: "reading the client certificate", message: "--tls-cert and --tls-key go together", hint: "give both")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RedisError(
                .url, server: server, operation: "loading the TLS settings", message: "\(error)",
                hint: "check that --tls-key is the key of --tls-cert")
        }
    }

    /// NIO's connect failure in the words hiredis uses for a plain connection (`Connection refused`).
    private static func connectMessage(_ error: any Error) -> String { NetworkError.sentence(error) }

    /// Why the handshake (or the PING after it) failed, as one sentence with the fix.
    static func handshakeError(_ error: any Error, host: String, settings: RedisTLSSettings, server: String) -> RedisError {
        func failed(_ message: String, hint: String?) -> RedisError {
            RedisError(.connect, server: server, operation: "TLS handshake", message: message, hint: hint)
        }
        // A plain Redis reads a ClientHello as the start of an inline command and waits for its
        // end: usually a timeout (the probe's), sometimes a close or a reply that is not TLS.
        let probe = error is RedisTLSProbe.Closed || error is RedisTLSProbe.TimedOut
        switch TLSFailure.of(error, hasClientCertificate: settings.certificateFile != nil) ?? (probe ? .notTLS : nil) {
        case .wrongName:
            return failed(
                "the server's certificate is not for '\(host)'",
                hint: "connect by a name (or IP address) that its certificate lists as a subject alternative name")
        case .untrusted:
            return failed(
                "certificate verify failed: the server's certificate is not signed by a trusted CA",
                hint: settings.caFile == nil
                    ? "give --tls-ca FILE with the CA that signed the server's certificate"
                    : "give --tls-ca FILE with the CA that signed the server's certificate (\(settings.caFile ?? "") did not)")
        case .clientCertificateRequired:
            return failed("the server requires a client certificate", hint: "give --tls-cert FILE and --tls-key FILE signed by a CA the server trusts")
        case .clientCertificateRefused:
            return failed("the server refused warmset's client certificate", hint: "give --tls-cert FILE and --tls-key FILE signed by a CA the server trusts")
        case .notTLS:
            return failed(
                error is RedisTLSProbe.TimedOut
                    ? "the server did not answer the TLS handshake within the connect timeout"
                    : "the server did not answer the TLS handshake",
                hint: "is this port plain Redis? then use redis://; a rediss:// URL needs the server's tls-port")
        case nil:
            return failed("\(error)", hint: nil)
        }
    }
}

/// Waits for the TLS handshake, then sends one PING and waits for the first reply line: a
/// server that refuses the client's certificate does so only after the client's side of the
/// handshake completed, so this is where that refusal is seen (any reply, even -NOAUTH, means
/// the server took the connection).
final class RedisTLSProbe: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The server closed the connection before it answered.
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection during the TLS handshake" }
    }

    /// The deadline passed.
    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    private let deadline: NIODeadline
    /// Succeeds on the first reply line, fails with the handshake's error (the first outcome stands).
    private let promise: EventLoopPromise<Void>
    private var timer: Scheduled<Void>?

    init(deadline: NIODeadline, done: EventLoopPromise<Void>) {
        self.deadline = deadline
        self.promise = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        timer = context.eventLoop.scheduleTask(deadline: deadline) { promise.fail(TimedOut()) }
        let channel = context.channel
        promise.futureResult.whenFailure { _ in channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let ping = context.channel.allocator.buffer(string: "*1\r\n$4\r\nPING\r\n")
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).readableBytesView.contains(UInt8(ascii: "\n")) {
            timer?.cancel()
            promise.succeed(())
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(Closed())
        context.fireChannelInactive()
    }
}
