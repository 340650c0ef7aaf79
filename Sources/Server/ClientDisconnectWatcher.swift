import NIOCore
import NIOHTTPTypes
import Synchronization

/// A pass-through handler in each connection's pipeline that sets TCP_NODELAY and notices the
/// client closing its side (aiohttp closes the socket when its timeout fires). Writes alone would only notice at
/// the next batch; a stalled backend must not keep generating for nobody.
final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private struct State {
        var gone = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    func handlerAdded(context: ChannelHandlerContext) {
        // Batches must leave as soon as they are written; Linux also inherits this from the
        // listening socket, which NIO sets, but the stream's latency should not rest on that.
        context.channel.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1).whenFailure { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone()
        context.fireChannelInactive()
    }

    private func markGone() {
        let waiters = state.withLock { state in
            state.gone = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the client has closed the connection, or when the calling task is cancelled.
    func waitUntilGone() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.gone || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
