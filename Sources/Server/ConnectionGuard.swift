import Config
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Counts a worker's open connections across all of them.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// False (and nothing counted) when the limit is reached.
    func enter() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }
}

/// A connection refused or cut by a limit, for the log: reason, HTTP status (0 when the
/// connection was closed without a response) and the client's address.
typealias ConnectionRefusal = @Sendable (_ reason: String, _ status: Int, _ message: String, _ client: String?) -> Void

/// Per connection, in front of the request handling: the connection limit, and deadlines for a
/// request's headers and body, which an idle timer alone does not give (a slowloris client
/// sends a byte now and then). Oversized headers are refused by NIO's decoder with 400; this
/// handler logs them.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let count: ConnectionCount
    private let refuse: ConnectionRefusal
    private var entered = false
    private var deadline: Scheduled<Void>?
    /// A request is being served: no header deadline until its response has ended.
    private var inRequest = false
    /// Between requests on a kept-alive connection: the next one's bytes start its deadline.
    private var waitingForNext = false
    private var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, count: ConnectionCount, refuse: @escaping ConnectionRefusal) {
        self.limits = limits
        self.count = count
        self.refuse = refuse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Raw bytes are seen before the HTTP decoder: the first byte of a request on a
        // kept-alive connection starts the deadline for its headers.
        try? context.pipeline.syncOperations.addHandler(FirstBytes(owner: self), position: .first)
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Bytes arrived from the client.
    fileprivate func bytesArrived() {
        guard waitingForNext, let context else { return }
        waitingForNext = false
        arm(context, .headers)
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !entered else { return }
        guard count.enter() else {
            refuse("too_many_connections", 0, "more than \(count.limit) connections open; closed on arrival", client(context))
            context.close(promise: nil)
            return
        }
        entered = true
        arm(context, .headers)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inRequest = true
            arm(context, .body)
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inRequest = false
            // Idle until the next request's first byte (the idle timeout covers a silent client).
            deadline?.cancel()
            deadline = nil
            waitingForNext = true
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError, parse == .headerOverflow {
            refuse("headers_too_large", 400, "request headers over the limit of \(limits.maxHeaderBytes) bytes", client(context))
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if entered {
            entered = false
            count.leave()
        }
        context.fireChannelInactive()
    }

    /// What a deadline waits for.
    private enum Awaited {
        case headers, body
        var reason: String { self == .headers ? "slow_headers" : "slow_body" }
    }

    private func arm(_ context: ChannelHandlerContext, _ awaited: Awaited) {
        deadline?.cancel()
        let seconds = awaited == .headers ? limits.headerTimeout : limits.bodyTimeout
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            let (handler, context) = loopBound.value
            // Headers are only late while no request is being served on this connection.
            if awaited == .headers && handler.inRequest { return }
            handler.refuse(awaited.reason, 408, "the request's \(awaited) did not arrive within \(seconds) s; connection closed", handler.client(context))
            context.close(promise: nil)
        }
    }

    private func client(_ context: ChannelHandlerContext) -> String? {
        context.channel.remoteAddress?.ipAddress
    }
}

/// Tells the guard when bytes arrive, ahead of the HTTP decoder.
private final class FirstBytes: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private weak var owner: ConnectionGuard?

    init(owner: ConnectionGuard) {
        self.owner = owner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner?.bytesArrived()
        context.fireChannelRead(data)
    }
}
