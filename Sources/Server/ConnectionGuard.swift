import Config
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// A connection refused or cut by a limit, for the log: reason, HTTP status (0 when the
/// connection was closed without a response) and the client's address.
typealias ConnectionRefusal = @Sendable (_ reason: String, _ status: Int, _ message: String, _ client: String?) -> Void

/// Per connection, in front of the request handling: its place in the connection table (the
/// limits in all and per address, eviction of idle connections at them), and deadlines for a
/// request's headers and body, which an idle timer alone does not give (a slowloris client
/// sends a byte now and then). Oversized headers are refused by NIO's decoder with 400; this
/// handler logs them. It also installs the handlers that must sit ahead of the HTTP decoder
/// (`FirstBytes`) or of the conversion to HTTP types (`HTTP1Compliance`).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let table: ConnectionTable
    private let refuse: ConnectionRefusal
    private var started = false
    /// The connection's row in the table while it holds one.
    private var id: ConnectionTable.ID?
    private var source: String?
    private var deadline: Scheduled<Void>?
    /// Requests whose head arrived and whose response has not ended (more than one only when
    /// pipelined): no header deadline and no eviction meanwhile.
    private var requestsInProgress = 0
    /// Between requests on a kept-alive connection: the next one's bytes start its deadline.
    private var waitingForNext = false
    /// The client has sent bytes (the connection table evicts silent ones first).
    private var spoke = false
    /// Closes the connection when the client has read nothing for too long.
    private var stall: Scheduled<Void>?
    /// The answer being written is a refusal: the connection closes once it is out.
    private var closeAfterAnswer = false
    private var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, table: ConnectionTable, refuse: @escaping ConnectionRefusal) {
        self.limits = limits
        self.table = table
        self.refuse = refuse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Raw bytes are seen before the HTTP decoder: the first byte of a request on a
        // kept-alive connection starts the deadline for its headers.
        try? context.pipeline.syncOperations.addHandler(FirstBytes(owner: self), position: .first)
        HTTP1Compliance.install(in: context.pipeline.syncOperations, refuse: refuse)
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Also when removed from a live channel: its slot must not stay taken.
        leave()
        self.context = nil
    }

    /// Bytes arrived from the client.
    fileprivate func bytesArrived() {
        if !spoke, let id {
            spoke = true
            table.spoke(id)
        }
        guard waitingForNext, let context else { return }
        waitingForNext = false
        arm(context, .headers)
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let channel = context.channel
        source = ConnectionTable.source(of: channel.remoteAddress)
        let address = client(context)
        switch table.open(source: source, address: address, close: { channel.close(promise: nil) }) {
        case .refused(let limit):
            refuse("too_many_connections", 0, "\(limit), all in a request; closed on arrival", address)
            context.close(promise: nil)
            return
        case .admitted(let id, let eviction):
            self.id = id
            if let eviction {
                // Closed on its own event loop; its guard then finds its row gone.
                eviction.close()
                let how = eviction.stalled ? "while its client read nothing of its answer"
                    : eviction.keptAlive ? "idle between requests" : "without sending a whole request"
                refuse(
                    "evicted_idle", 0,
                    "closed after \(Self.seconds(eviction.idle)) s \(how): a new connection needed its slot (\(eviction.limit))",
                    eviction.address
                )
            }
        }
        arm(context, .headers)
    }

    private func leave() {
        deadline?.cancel()
        deadline = nil
        stall?.cancel()
        stall = nil
        if let id {
            self.id = nil
            table.close(id)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            if requestsInProgress == 0, let id { table.requestStarted(id) }
            if requestsInProgress < Int.max { requestsInProgress += 1 }
            waitingForNext = false
            arm(context, .body)
        case .end:
            // The body's deadline is over; with no request in progress (answered before its body
            // had arrived), the deadline armed is the next request's headers', and stays.
            if requestsInProgress > 0 {
                deadline?.cancel()
                deadline = nil
            }
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A refusal ends its connection: a client that pipelines refused requests (and reads none
        // of the answers) would otherwise keep its connection "in a request", unevictable, for as
        // long as its pipeline lasts. A validator refused now and then just connects again.
        // Unwrapped once: each unwrap is a dynamic cast to a generic type (a metadata lookup),
        // and every batch of every answer passes here.
        let part = unwrapOutboundIn(data)
        if case .head(var head) = part, head.status.code >= 400 {
            closeAfterAnswer = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        }
        guard case .end = part else {
            context.write(data, promise: promise)
            return
        }
        if closeAfterAnswer {
            let channel = context.channel
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
            return
        }
        if requestsInProgress > 0 {
            requestsInProgress -= 1
            if requestsInProgress == 0 {
                if let id { table.requestEnded(id) }
                // Idle until the next request's first byte (the idle timeout covers a silent client).
                deadline?.cancel()
                deadline = nil
                waitingForNext = true
            }
        }
        context.write(data, promise: promise)
    }

    /// A client that reads nothing while an answer waits (its socket buffers full): evictable
    /// at once, and closed after `body_timeout` — a refusal's answer has no deadline of its own.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stall?.cancel()
            stall = nil
            if let id { table.stalled(id, false) }
        } else if stall == nil {
            if let id { table.stalled(id, true) }
            let seconds = limits.bodyTimeout
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            stall = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                let (handler, context) = loopBound.value
                handler.refuse(
                    "slow_reader", 0, "the client read nothing of its answers for \(Self.seconds(seconds)) s; connection closed",
                    handler.client(context)
                )
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError {
            if parse == .headerOverflow {
                refuse("headers_too_large", 400, "request headers over the limit of \(limits.maxHeaderBytes) bytes or 200 fields", client(context))
            } else if parse != .invalidEOFState {  // closed mid-request: whoever closed it logged why
                // Not HTTP/1 (a TLS handshake, HTTP/2's preface, another version, garbage): NIO's
                // parser answers a bare 400 and closes; the row says what it was.
                refuse("malformed_http", 400, "not an HTTP/1.0 or 1.1 request (\(parse))", client(context))
            }
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        leave()
        context.fireChannelInactive()
    }

    /// What a deadline waits for.
    private enum Awaited {
        case headers, body
        var reason: String { self == .headers ? "slow_headers" : "slow_body" }
    }

    private func arm(_ context: ChannelHandlerContext, _ awaited: Awaited) {
        deadline?.cancel()
        // The fuller the table, the less time a connection gets to show it is a real client.
        let seconds = awaited == .headers ? table.headerTimeout(base: limits.headerTimeout, source: source) : limits.bodyTimeout
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            let (handler, context) = loopBound.value
            // Headers are only late while no request is being served on this connection.
            if awaited == .headers && handler.requestsInProgress > 0 { return }
            handler.refuse(
                awaited.reason, 408, "the request's \(awaited) did not arrive within \(Self.seconds(seconds)) s; connection closed",
                handler.client(context)
            )
            context.close(promise: nil)
        }
    }

    private func client(_ context: ChannelHandlerContext) -> String? {
        context.channel.remoteAddress?.ipAddress
    }

    /// Seconds to a hundredth, for messages.
    static func seconds(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return seconds(Double(whole) + Double(fraction) * 1e-18)
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
