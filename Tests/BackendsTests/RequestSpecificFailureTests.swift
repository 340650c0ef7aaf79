import Backends
import Streaming
import Testing

/// `stop_on_forward_exception` stops a miner on a backend failure, but not on one the request
/// itself caused: otherwise anyone who may send a request (a prompt over the model's context)
/// could stop the miner at will.
@Suite struct RequestSpecificFailureTests {
    func end(throwing error: BackendError) async -> StreamSummary {
        let items = AsyncThrowingStream<String, any Error> { continuation in
            continuation.yield("partial")
            continuation.finish(throwing: error)
        }
        return await StreamingEngine(batchSize: 4).run(items: items, deadline: .now + .seconds(10), clock: ContinuousClock()) { _ in }
    }

    @Test(arguments: [(400, true), (413, true), (422, true), (401, false), (404, false), (429, false), (500, false), (503, false)])
    func onlyTheServersRefusalOfThisRequestIsRequestSpecific(status: Int, specific: Bool) async {
        let summary = await end(throwing: BackendError(.http, "answered \(status)", status: status))
        guard case .failed = summary.end else {
            Issue.record("expected a failure, got \(summary.end)")
            return
        }
        #expect(summary.failureIsRequestSpecific == specific)
    }

    @Test func anUnreachableServerIsNot() async {
        #expect(await end(throwing: BackendError(.unreachable, "connection refused")).failureIsRequestSpecific == false)
    }
}
