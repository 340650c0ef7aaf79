import Admission
import Backends
import Config
import Foundation
import HTTPTypes
import Hummingbird
import LogStore
import NIOCore
import Logging
import Streaming
import Wire

/// The worker's only responder: route → headers → (admission, a later step) → body → body
/// hash → stream. The check order is the Python axon's (PROTOCOL.md §3); every refusal is a
/// JSON `{"message": ...}` with a precise status, and every request leaves one log record.
struct SynapseResponder: HTTPResponder {
    typealias Context = WorkerRequestContext

    let miner: MinerConfig
    let backend: any Backend
    let log: LogWriter
    let admission: Admission
    /// Where refusals go: aggregated per source, validator, reason and second.
    let refusals: RefusalLog
    /// Fired when the worker's shutdown grace period is over: streams still open end as on a timeout.
    let drain: StopSignal
    /// Called after a response whose backend failed, when the miner stops on forward exceptions.
    let onForwardException: @Sendable (String) -> Void
    /// Closed while the backend's services are not ready: requests get 503 at once.
    var gate: BackendGate?
    /// `max_batch_chars` and `max_batch_tokens`, with the backend's token counter.
    var batchBounds = BatchBounds()
    /// Unix seconds now: when a request arrived, for its nonce's freshness and the log.
    var wallClock: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    /// Deadlines on the connection's event loop (`EventLoopClock`); off for NIO's testing
    /// channels, whose loops keep time only by hand (in-process requests, fuzzing).
    var timersOnEventLoop = true
    /// Told when a stream starts and ends: the heap is trimmed once none runs (`IdleMemoryTrim`).
    var idleTrim: IdleMemoryTrim?

    func respond(to request: Request, context: Context) async throws -> Response {
        let timing = RequestTiming(unixNow: wallClock())
        let headerValue: (String) -> String? = { name in HTTPField.Name(name).flatMap { request.headers[$0] } }
        var record = newRecord(receivedAt: timing.receivedAtUnix)
        // What the client says of itself, bounded: until its signature verifies, a claim.
        record.claimedHotkey = headerValue("bt_header_dendrite_hotkey").map { RequestRecord.bounded($0) }
        record.dendriteIP = context.channel.remoteAddress?.ipAddress
        record.uuid = headerValue("bt_header_dendrite_uuid").map { RequestRecord.bounded($0) }
        do {
            let name = String(request.uri.path.dropFirst().prefix { $0 != "/" })
            record.synapse = RequestRecord.bounded(name)
            try route(request, name: name)
            try expectContinue(request)
            // Before any work: a validator learns at once that the model server is not ready.
            if let refusal = gate?.refusal { throw refusal }
            let headers = try SynapseHeaders.parse(headerValue)
            record.nonce = headers.dendriteNonce
            record.dendriteVersion = headers.dendriteVersion
            // Blacklist, nonce and signature before anything else is believed; then the rate
            // (every request of a key counts), the budget (a replay is a 401 whatever its
            // timeout) and a stream slot, all before the body.
            let stake = try admission.authenticate(headers, now: timing.receivedAtUnix)
            record.validatorHotkey = headers.dendriteHotkey
            record.claimedHotkey = nil
            try admission.checkRate(headers, now: timing.receivedAtUnix)
            var budget = try RequestBudget(requested: headers.timeout, policy: miner.timeout, limit: miner.maxRequestTimeout)
            let ticket = try await admission.enter(stake: stake, deadline: budget.deadline(from: timing.receivedAt))
            record.queueWait = ticket.queueWait
            do {
                var request = request
                let synapse = try await readBody(&request)
                // One budget: the header's when it has one (as the dendrite sends it), else the body's.
                let bodyBudget = try RequestBudget(
                    requested: synapse.timeout, policy: miner.timeout, limit: miner.maxRequestTimeout, field: "Body field 'timeout'"
                )
                if headers.timeout == nil { budget = bodyBudget }
                let bodyHash = synapse.bodyHash
                guard headers.computedBodyHash == bodyHash else {
                    throw Rejection(
                        status: 400, reason: "body_hash_mismatch",
                        message: "Body hash mismatch: header 'computed_body_hash' is '\((headers.computedBodyHash ?? "").prefix(64))' "
                            + "but the body's messages hash to '\(bodyHash)'"
                    )
                }
                let watcher = try? await context.channel.pipeline.handler(type: ClientDisconnectWatcher.self).get()
                return stream(
                    synapse, name: name, headers: headers, bodyHash: bodyHash, budget: budget, timing: timing, record: record,
                    watcher: watcher, connection: context.channel, ticket: ticket, logger: context.logger
                )
            } catch {
                await ticket.release()
                throw error
            }
        } catch let rejection as Rejection {
            return reject(rejection, timing: timing, record: record)
        }
    }

    /// A request's record before anything is known of it: refused until it is streamed.
    func newRecord(receivedAt: Double) -> RequestRecord {
        RequestRecord(
            worker: miner.name, minerHotkey: miner.hotkey, synapse: "", backend: backend.kind,
            batchSize: miner.streamingBatchSize, receivedAt: receivedAt, finishedAt: receivedAt,
            outcome: Outcome.rejected.rawValue, status: 0
        )
    }

    /// `POST /<synapse name>` for a synapse this miner serves; `name` is the path's first part.
    private func route(_ request: Request, name: String) throws(Rejection) {
        guard request.uri.path == "/" + name, miner.synapses.contains(name) else {
            throw .unknownSynapse(RequestRecord.bounded(name, to: 64), available: miner.synapses)
        }
        guard request.method == .post else {
            throw Rejection(status: 405, reason: "method_not_allowed", message: "Method Not Allowed: use POST /\(name)")
        }
    }

    /// `Expect: 100-continue` is answered by the connection's handler (`HTTP1Compliance`) as
    /// its head arrives; any other expectation is refused as HTTP says (417).
    private func expectContinue(_ request: Request) throws(Rejection) {
        guard let expect = request.headers[.expect], expect.lowercased() != "100-continue" else { return }
        throw Rejection(status: 417, reason: "expectation_failed", message: "Expectation '\(expect.prefix(64))' is not supported; only 100-continue is")
    }

    private func readBody(_ request: inout Request) async throws(Rejection) -> SynapseRequest {
        // The media type itself (parameters such as `; charset=utf-8` aside), not a prefix of it.
        if let type = request.headers[.contentType],
           type.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() != "application/json" {
            throw Rejection(status: 415, reason: "unsupported_media_type", message: "Content-Type must be application/json, got '\(type.prefix(64))'")
        }
        let limit = miner.maxBodyBytes
        let tooLarge = Rejection(status: 413, reason: "body_too_large", message: "Request body is larger than the limit of \(limit) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        } catch {
            throw Rejection(status: 400, reason: "body_read_failed", message: "Could not read the request body: \(error)")
        }
        guard buffer.readableBytes > 0 else {
            throw Rejection(status: 422, reason: "empty_body", message: "Request body is empty; expected the synapse as JSON")
        }
        return try SynapseRequest.decode(Array(buffer.readableBytesView))
    }

    private func reject(_ rejection: Rejection, timing: RequestTiming, record: RequestRecord) -> Response {
        var record = record
        record.status = rejection.status
        record.reason = rejection.reason
        record.detail = RequestRecord.bounded(rejection.message, to: RequestRecord.maxDetail)
        record.finishedAt = timing.nowUnix
        // Refusals cost no stream and anyone can send them as fast as they like (a signed one
        // needs only a key of one's own): aggregated per source, validator, reason and second,
        // their lines rate-limited.
        refusals.add(record)
        // The axon's status travels in headers too: a streaming synapse's dendrite reads its
        // status message from them, not from the body.
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("bt_header_axon_status_code")!] = String(rejection.status)
        headers[HTTPField.Name("bt_header_axon_status_message")!] = rejection.message
        headers[HTTPField.Name("bt_header_axon_process_time")!] = String(timing.elapsed)
        headers[HTTPField.Name("bt_header_axon_hotkey")!] = miner.hotkey
        return Response(
            status: .init(code: rejection.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: rejection.body))
        )
    }

    private func stream(
        _ synapse: SynapseRequest, name: String, headers: SynapseHeaders, bodyHash: String, budget: RequestBudget,
        timing: RequestTiming, record: RequestRecord, watcher: ClientDisconnectWatcher?, connection: any Channel,
        ticket: Admission.Ticket, logger: Logger
    ) -> Response {
        var record = record
        record.timeout = budget.seconds
        record.status = 200
        let report = GenerationReport()
        let journalID = log.started(record)
        // A backend's stream (its reader, the engine, the writer) runs on the connection's
        // event loop (see EventLoopTaskExecutor).
        let executor = EventLoopTaskExecutor(connection.eventLoop)
        // Deadlines as callbacks on the connection's event loop: a cancelled one is gone at once
        // (a cancelled Task.sleep stays queued until its deadline; see EventLoopClock).
        let timers = timersOnEventLoop ? connection.eventLoop : nil
        let clock = EventLoopClock(eventLoop: timers)
        let items = GenerationStream.$executor.withValue(executor) {
            GenerationStream.$eventLoop.withValue(timers) {
                backend.generate(GenerationRequest(roles: synapse.roles, messages: synapse.messages.map(\.string)), report: report)
            }
        }
        let session = StreamSession(
            engine: StreamingEngine(batchSize: miner.streamingBatchSize, bounds: batchBounds),
            items: items,
            deadline: budget.deadline(from: timing.receivedAt),
            receivedAt: timing.receivedAt,
            clock: clock,
            disconnect: watcher,
            drain: drain,
            // Not for items made without waiting (the mock without a delay): a generator that
            // never waits on I/O would keep the loop from its sockets until the answer ended.
            executor: items is GenerationStream ? executor : nil
        )
        // The deadline bounds the writes too: a client that stops reading would otherwise hold
        // its stream slot (and the answer's buffers) until it closes the socket.
        let writeLimit = budget.deadline(from: timing.receivedAt) + Self.writeMargin
        var fields = HTTPFields()
        fields[.date] = ""  // filled in by Hummingbird, in this position
        fields[.server] = "miners"
        for (field, value) in StreamingResponseHead.headers(
            synapseName: name, request: synapse, headers: headers, bodyHash: bodyHash, processTime: timing.elapsed
        ) {
            fields.append(HTTPField(name: HTTPField.Name(field)!, value: value))
        }
        let body = ResponseBody { [self, record] writer in
            idleTrim?.streamStarted()  // ended below, once the stream is recorded
            let stalled = StopSignal()
            await withTaskGroup(of: Void.self) { watchdog in
                watchdog.addTask {
                    guard (try? await clock.sleep(until: writeLimit)) != nil else { return }  // cancelled: done in time
                    stalled.fire()
                    connection.close(promise: nil)  // fails the stalled write; the slot is freed below
                }
                let result = await session.run(writer: &writer)
                await ticket.release()
                // Recorded (and journaled) before the client can see the end of the response, so
                // no answer a client saw complete goes unlogged, even if the worker is killed now.
                var finished = finish(record, result: result, report: report, timing: timing, stalled: stalled.isFired, logger: logger)
                log.record(finished, journalID: journalID)
                idleTrim?.streamEnded()
                // The terminating zero-length chunk; the Python axon sends it on timeout too.
                do {
                    try await writer.finish(nil)
                } catch {
                    finished.outcome = Outcome.of(result.summary.end, batchesWritten: result.written.count, clientGone: true).rawValue
                    if stalled.isFired { finished.reason = Self.slowReaderReason }
                    log.correct(finished, journalID: journalID)
                }
                watchdog.cancelAll()
            }
        }
        return Response(status: .ok, headers: fields, body: body)
    }

    /// How long past its deadline a response may take to be written before its connection is closed.
    static let writeMargin = Duration.seconds(1)
    static let slowReaderReason = "slow_reader: the client stopped reading; connection closed 1 s after the deadline"

    /// The request's record from the stream's result; logs a summary line.
    private func finish(
        _ record: RequestRecord, result: StreamResult, report: GenerationReport, timing: RequestTiming, stalled: Bool,
        logger: Logger
    ) -> RequestRecord {
        var record = record
        let outcome = Outcome.of(result.summary.end, batchesWritten: result.written.count, clientGone: result.clientGone)
        record.outcome = outcome.rawValue
        record.finishedAt = timing.nowUnix
        record.batches = result.written
        record.itemsSent = result.itemsSent
        record.bytesSent = result.bytesSent
        record.itemsGenerated = result.summary.itemsGenerated
        record.finalAnswerSent = result.finalAnswerSent
        record.backendFirstItem = result.summary.firstItemDelay?.seconds
        record.backendItemsPerSecond = result.summary.itemsPerSecond
        record.promptTokens = report.promptTokens
        record.completionTokens = report.completionTokens
        record.reasoningItems = report.reasoningItems
        record.reasoningSeconds = report.reasoningTime.map(\.seconds)
        record.firstBatchAt = result.written.first.map { timing.receivedAtUnix + $0.offset }
        if case .failed(let error) = result.summary.end { record.reason = error }
        if result.summary.end == .stopped { record.reason = "worker stopping: shutdown grace period over" }
        if stalled { record.reason = Self.slowReaderReason }
        if result.summary.end == .timedOut || result.summary.end == .stopped {
            record.timeoutEvent = TimeoutRecord(
                at: record.finishedAt, limit: record.timeout ?? 0, elapsed: record.finishedAt - record.receivedAt,
                batchesSent: result.written.count, itemsDropped: record.itemsUnsent
            )
        }
        let firstBatch = result.written.first.map { String(format: "%.0fms", $0.offset * 1000) } ?? "-"
        let summary =
            "\(record.synapse) from \(record.validatorHotkey ?? "-"): \(outcome.rawValue), \(result.written.count) batches, "
                + "\(record.itemsSent)/\(record.itemsGenerated) items sent, first batch \(firstBatch), "
                + String(format: "total %.0fms", (record.finishedAt - record.receivedAt) * 1000)
        logger.info("\(summary)")
        if case .failed(let error) = result.summary.end {
            logger.error("backend failed: \(error)")
            // Not over a failure this request caused (any admitted key could stop the miner).
            if miner.stopOnForwardException, !result.summary.failureIsRequestSpecific { onForwardException(error) }
        }
        return record
    }
}

/// When a request arrived, on the monotonic clock (for deadlines) and the wall clock (for the log).
struct RequestTiming: Sendable {
    let receivedAt = ContinuousClock.now
    let receivedAtUnix: Double

    init(unixNow: Double) {
        receivedAtUnix = unixNow
    }

    var elapsed: Double { (ContinuousClock.now - receivedAt).seconds }
    var nowUnix: Double { receivedAtUnix + elapsed }
}
