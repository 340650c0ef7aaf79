import Config
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Synchronization
import Testing
@testable import Server

/// Records what a connection handler logs as refused.
final class RefusalRecorder: Sendable {
    struct Row: Sendable {
        let reason: String
        let status: Int
        let message: String
        let client: String?
    }

    private let rows = Mutex<[Row]>([])
    var all: [Row] { rows.withLock { $0 } }
    var reasons: [String] { all.map(\.reason) }

    var refuse: ConnectionRefusal {
        { [self] reason, status, message, client in
            rows.withLock { $0.append(Row(reason: reason, status: status, message: message, client: client)) }
        }
    }
}

/// Answers each whole request with `200` and a body of unknown length (so HTTP/1.1 chunks
/// it), at once or when told to, as hummingbird's responder would.
final class TestResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    var answersAtOnce = true
    private(set) var requests: [HTTPRequest] = []
    private(set) var bodies: [String] = []
    private var waiting = 0
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requests.append(head)
            bodies.append("")
        case .body(let buffer):
            bodies[bodies.count - 1] += String(buffer: buffer)
        case .end:
            waiting += 1
            if answersAtOnce { answer() }
        }
    }

    /// Answers the oldest request not answered yet.
    func answer(_ text: String = "hello") {
        guard waiting > 0, let context else { return }
        waiting -= 1
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(string: text))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// A connection's pipeline as hummingbird builds it (NIO's HTTP/1 codec, the conversion to
/// HTTP types, the guard, a responder), on an embedded channel from `client`.
struct GuardedConnection {
    let channel: EmbeddedChannel
    let responder: TestResponder

    init(table: ConnectionTable, limits: ConnectionLimits = ConnectionLimits(), refusals: RefusalRecorder, client: String = "10.0.0.1",
         active: Bool = true) throws {
        channel = EmbeddedChannel()
        responder = TestResponder()
        let pipeline = channel.pipeline.syncOperations
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandler(ConnectionGuard(limits: limits, table: table, refuse: refusals.refuse))
        try pipeline.addHandler(responder)
        // An embedded channel's peer is the address it "connects" to.
        let peer = try SocketAddress(ipAddress: client, port: 40000)
        if active { try channel.connect(to: peer).wait() } else { channel.remoteAddress = peer }
    }

    var isOpen: Bool { channel.isActive }

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything the server has written so far.
    func received() throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text
    }
}

/// The guard on embedded channels: its place in the table from active to closed, eviction at
/// the limits, the shrinking header deadline.
@Suite struct ConnectionGuardTests {
    static let request = "POST /StreameinsteinSynapse HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"

    @Test func aConnectionHoldsOneSlotFromActiveUntilClosed() throws {
        let table = ConnectionTable(maxConnections: 10, maxPerSource: 10)
        let refusals = RefusalRecorder()
        let one = try GuardedConnection(table: table, refusals: refusals)
        let two = try GuardedConnection(table: table, refusals: refusals)
        #expect(table.count == 2)
        _ = try one.channel.finish()
        #expect(table.count == 1)
        // Closed twice (the second close fails): still counted once.
        try? one.channel.close().wait()
        #expect(table.count == 1)
        // A channel that never became active never took a slot.
        let never = try GuardedConnection(table: table, refusals: refusals, active: false)
        #expect(table.count == 1)
        _ = try? never.channel.finish()
        #expect(table.count == 1)
        // The guard taken out of a live channel gives its slot back.
        let guardHandler = try two.channel.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        try two.channel.pipeline.syncOperations.removeHandler(guardHandler).wait()
        #expect(table.count == 0)
        _ = try two.channel.finish()
        #expect(table.count == 0)
        #expect(refusals.all.isEmpty)
    }

    @Test func aNewConnectionAtTheLimitEvictsTheOldestIdleOne() throws {
        let table = ConnectionTable(maxConnections: 2, maxPerSource: 10)
        let refusals = RefusalRecorder()
        let idle = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.1")
        let busy = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.2")
        busy.responder.answersAtOnce = false
        try busy.send(Self.request)  // a whole request, its answer pending: not evictable
        let newcomer = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.3")
        #expect(!idle.isOpen && busy.isOpen && newcomer.isOpen)
        #expect(table.count == 2)
        #expect(refusals.reasons == ["evicted_idle"])
        #expect(refusals.all.first?.client == "10.0.0.1")
        // The newcomer sends its request; with both in a request the next one is refused.
        newcomer.responder.answersAtOnce = false
        try newcomer.send(Self.request)
        let refused = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.4")
        #expect(!refused.isOpen)
        #expect(refusals.reasons == ["evicted_idle", "too_many_connections"])
        #expect(table.count == 2)
        // Answered, the busy connection waits for its next request and may be evicted again.
        busy.responder.answer()
        #expect(try busy.received().hasPrefix("HTTP/1.1 200 OK"))
        let last = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.5")
        #expect(!busy.isOpen && newcomer.isOpen && last.isOpen)
        #expect(refusals.reasons.last == "evicted_idle")
        #expect(refusals.all.last?.message.contains("idle between requests") == true)
        for connection in [idle, busy, newcomer, refused, last] { _ = try? connection.channel.finish() }
        #expect(table.count == 0)
    }

    @Test func anAddressAtItsCapEvictsItsOwnOldest() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerSource: 2)
        let refusals = RefusalRecorder()
        let other = try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.9")
        let flood = try (0..<5).map { _ in try GuardedConnection(table: table, refusals: refusals, client: "10.0.0.1") }
        #expect(other.isOpen)
        #expect(flood.map(\.isOpen) == [false, false, false, true, true])
        #expect(table.count(source: "10.0.0.1") == 2 && table.count == 3)
        #expect(refusals.reasons == Array(repeating: "evicted_idle", count: 3))
    }

    @Test func theHeaderDeadlineShrinksNearTheLimit() throws {
        var limits = ConnectionLimits()
        limits.headerTimeout = 10
        let table = ConnectionTable(maxConnections: 4, maxPerSource: 10)
        let refusals = RefusalRecorder()
        // The first connection opens into an empty table: all of its 10 s.
        let early = try GuardedConnection(table: table, limits: limits, refusals: refusals, client: "10.0.0.1")
        let others = try (2...4).map { try GuardedConnection(table: table, limits: limits, refusals: refusals, client: "10.0.0.\($0)") }
        // The last one opened into a full table: 1 s.
        others[2].channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        #expect(!others[2].isOpen)
        #expect(refusals.reasons == ["slow_headers"])
        #expect(refusals.all.first?.message.contains("within 1.0 s") == true)
        early.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(early.isOpen)
        early.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!early.isOpen)
        #expect(table.count == 2)
    }

    @Test func aRequestInProgressIsNotCutByTheHeaderDeadline() throws {
        var limits = ConnectionLimits()
        limits.headerTimeout = 1
        let table = ConnectionTable(maxConnections: 4, maxPerSource: 4)
        let refusals = RefusalRecorder()
        let connection = try GuardedConnection(table: table, limits: limits, refusals: refusals)
        connection.responder.answersAtOnce = false
        try connection.send(Self.request)
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(connection.isOpen && refusals.all.isEmpty)
        connection.responder.answer()
        // Between requests only the idle timeout (hummingbird's) applies, until the next byte.
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(connection.isOpen)
        try connection.send("POST /x")
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        #expect(!connection.isOpen)
        #expect(refusals.reasons == ["slow_headers"])
    }
}
