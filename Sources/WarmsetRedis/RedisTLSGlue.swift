import NIOCore

/// One half of a pair of handlers that copy bytes between two channels on the same event loop
/// (the TLS channel to the server and the socketpair end facing hiredis), the "GlueHandler" of
/// swift-nio's connect-proxy example: what one reads the other writes, reads stop while the
/// other side cannot take more, and a close on either side closes both.
final class RedisTLSGlue: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: RedisTLSGlue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    private init() {}

    /// Two halves that know each other.
    static func matchedPair() -> (RedisTLSGlue, RedisTLSGlue) {
        let first = RedisTLSGlue()
        let second = RedisTLSGlue()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private func partnerWrite(_ data: NIOAny) {
        context?.write(data, promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    private var partnerWritable: Bool {
        context?.channel.isWritable ?? false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // A read the partner held back while this half was not there yet may go now.
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        partner?.partnerClose()
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
