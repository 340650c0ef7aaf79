import NIOCore
import NIOHTTP1

/// The parts of HTTP/1 that hummingbird leaves out, seen where the protocol version is still
/// known (between NIO's HTTP/1 codec and the conversion to HTTP types, which drops it):
///
/// - An HTTP/1.0 client cannot read chunked encoding: its answer is an HTTP/1.0 response with
///   `Connection: close`, the body sent as is and ended by closing the connection (a stream's
///   length is not known in advance). A request that is neither HTTP/1.0 nor 1.x gets 505.
/// - `Expect: 100-continue` gets `HTTP/1.1 100 Continue` as soon as its head arrives, so a
///   client waiting for it (curl does, up to a second) sends its body at once.
final class HTTP1Compliance: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request whose response has not ended yet.
    private struct Pending {
        var http10: Bool
        /// `100 Continue` is due, and has not been sent.
        var owesContinue: Bool
    }

    private let refuse: ConnectionRefusal
    /// Oldest first; more than one only when a client pipelines.
    private var pending: [Pending] = []
    /// A version was refused: what else the client sends is dropped until the connection closes.
    private var refused = false

    init(refuse: @escaping ConnectionRefusal) {
        self.refuse = refuse
    }

    /// Puts a handler right after the pipeline's HTTP/1 request decoder, where it must sit;
    /// does nothing in a pipeline without one.
    static func install(in pipeline: ChannelPipeline.SynchronousOperations, refuse: @escaping ConnectionRefusal) {
        guard let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) else { return }
        try? pipeline.addHandler(HTTP1Compliance(refuse: refuse), position: .after(decoder))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        guard head.version.major == 1 else {
            refuseVersion(head.version, context: context)
            return
        }
        let http10 = head.version.minor == 0
        if http10 {
            // HTTP/1.0 closes after each response unless told otherwise; this server always does,
            // as a streamed body has no length to keep the connection on.
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        // HTTP/1.0 clients do not know 1xx responses (RFC 9110 §15.2).
        let expects = !http10 && head.headers["expect"].contains { Self.isContinue($0) }
        pending.append(Pending(http10: http10, owesContinue: expects))
        if expects && pending.count == 1 {
            // Nothing else is being answered on this connection: the 100 can go now.
            pending[0].owesContinue = false
            sendContinue(context)
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !pending.isEmpty else {
            // A response without a request (hummingbird's 400 for a request it could not parse).
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            let code = head.status.code
            if (100..<200).contains(code) && code != 101 {
                // Another informational response; HTTP/1.0 clients get none.
                if pending[0].http10 { promise?.succeed(()) } else { context.write(data, promise: promise) }
                return
            }
            // The final answer came first: no 100 for this request any more.
            pending[0].owesContinue = false
            if pending[0].http10 {
                head.version = .http1_0
                // Without Content-Length, NIO's encoder sends an HTTP/1.0 body as is.
                head.headers.remove(name: "transfer-encoding")
                head.headers.replaceOrAdd(name: "connection", value: "close")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            let answered = pending.removeFirst()
            guard !answered.http10 else {
                // The end of the body is the end of the connection; close once it has left.
                let channel = context.channel
                let written = promise ?? context.eventLoop.makePromise()
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                context.writeAndFlush(data, promise: written)
                return
            }
            context.write(data, promise: promise)
            if !pending.isEmpty && pending[0].owesContinue {
                pending[0].owesContinue = false
                sendContinue(context)
            }
        }
    }

    private func sendContinue(_ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
    }

    /// 505 with a JSON message, then close: HTTP/2 without the upgrade, or a version from the future.
    private func refuseVersion(_ version: HTTPVersion, context: ChannelHandlerContext) {
        refused = true
        let message = "HTTP/\(version.major).\(version.minor) is not supported; use HTTP/1.1"
        refuse("http_version_not_supported", 505, message, context.channel.remoteAddress?.ipAddress)
        var body = context.channel.allocator.buffer(capacity: message.utf8.count + 16)
        body.writeString("{\"message\":\"\(message)\"}")
        let head = HTTPResponseHead(
            version: .http1_1, status: .httpVersionNotSupported,
            headers: ["content-type": "application/json", "content-length": "\(body.readableBytes)", "connection": "close"]
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The header asks for `100-continue` (any case, spaces around it ignored), as the
    /// responder reads it: anything else it refuses with 417.
    static func isContinue(_ value: String) -> Bool {
        let blank: Set<Character> = [" ", "\t"]
        var trimmed = Substring(value)
        while let first = trimmed.first, blank.contains(first) { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, blank.contains(last) { trimmed = trimmed.dropLast() }
        return trimmed.lowercased() == "100-continue"
    }
}
