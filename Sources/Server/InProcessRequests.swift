import HTTPTypes
import Hummingbird
import LogStore
import Logging
import NIOCore
import NIOEmbedded
import Streaming

/// A worker's whole request path without a socket: a request's head and body in, the status
/// and the bytes of the answer out — route, headers, admission with its live nonce table, the
/// budget, the capacity gate, the body, the stream and its records, as a connection would drive
/// them. The fuzzer's `request` target feeds it arbitrary requests with the clock taken from
/// the input.
public struct InProcessRequests: Sendable {
    private let responder: SynapseResponder
    private let logger: Logger

    /// `log` collects the records (run it, or let its bounded queue drop them).
    public init(worker: Worker, log: LogWriter) throws {
        var responder = worker.makeResponder(
            log: log, refusals: RefusalLog(log: log, logger: worker.logger), admission: try worker.makeAdmission(),
            backend: worker.miner.makeBackend(), drain: StopSignal(), onForwardException: { _ in }
        )
        responder.timersOnEventLoop = false  // a testing channel's loop keeps time only by hand
        self.responder = responder
        self.logger = worker.logger
    }

    /// Answers one request; a thrown error is what the server would turn into a 500.
    public func respond(method: HTTPRequest.Method, path: String, headers: HTTPFields, body: [UInt8]) async throws -> (status: Int, body: ByteBuffer) {
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "miner", path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: body))
        )
        let context = WorkerRequestContext(source: .init(channel: NIOAsyncTestingChannel(), logger: logger))
        let response = try await responder.respond(to: request, context: context)
        let collected = CollectedBody()
        try await response.body.write(collected)
        return (response.status.code, collected.bytes)
    }
}

/// The answer's bytes, as a client would read them.
private final class CollectedBody: ResponseBodyWriter, @unchecked Sendable {  // one writer task at a time
    var bytes = ByteBuffer()
    func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        bytes.writeBuffer(&buffer)
    }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
