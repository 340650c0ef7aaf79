import NIOCore
import NIOHTTPTypes
import Streaming

/// A pass-through handler in each connection's pipeline that sets TCP_NODELAY and notices the
/// client closing its side (aiohttp closes the socket when its timeout fires). Writes alone would only notice at
/// the next batch; a stalled backend must not keep generating for nobody.
final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    /// Fired when the client has closed the connection.
    let gone = StopSignal()

    func handlerAdded(context: ChannelHandlerContext) {
        // Batches must leave as soon as they are written; Linux also inherits this from the
        // listening socket, which NIO sets, but the stream's latency should not rest on that.
        context.channel.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1).whenFailure { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { gone.fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone.fire()
        context.fireChannelInactive()
    }
}
