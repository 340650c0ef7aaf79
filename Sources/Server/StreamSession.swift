import Backends
import Hummingbird
import LogStore
import NIOCore
import Streaming

/// One streamed answer: the engine decides the batches, this writes each as one HTTP chunk the
/// moment it is decided, and stops everything when the client goes away. The clock is injected:
/// tests drive the deadline by hand.
struct StreamSession<C: Clock & Sendable> where C.Duration == Duration {
    let engine: StreamingEngine
    let items: BackendItems
    let deadline: C.Instant
    let receivedAt: C.Instant
    let clock: C
    let disconnect: ClientDisconnectWatcher?
    /// Fired when the worker's shutdown grace period is over.
    let drain: StopSignal

    private enum Event: Sendable {
        case engine(StreamSummary)
        case clientGone
        case watcherStopped
    }

    func run(writer: inout any ResponseBodyWriter) async -> StreamResult {
        let (batches, sink) = AsyncStream<Batch>.makeStream()
        return await withTaskGroup(of: Event.self) { group in
            group.addTask { [engine, items, deadline, drain, clock] in
                let summary = await engine.run(items: items, deadline: deadline, clock: clock, stop: drain) { sink.yield($0) }
                sink.finish()
                return .engine(summary)
            }
            if let disconnect {
                group.addTask {
                    await disconnect.gone.wait()
                    if Task.isCancelled { return .watcherStopped }
                    sink.finish()  // ends the write loop below
                    return .clientGone
                }
            }
            var result = StreamResult(summary: StreamSummary(end: .cancelled, itemsGenerated: 0, itemsSent: 0, batches: 0))
            var detector = FinalAnswerDetector()
            for await batch in batches {
                do {
                    try await writer.write(ByteBuffer(string: batch.text))
                } catch {
                    result.clientGone = true
                    break
                }
                let bytes = batch.text.utf8.count
                result.written.append(BatchRecord(
                    sequence: batch.sequence, offset: receivedAt.duration(to: clock.now).seconds,
                    items: batch.items, bytes: bytes, isFinal: batch.isFinal
                ))
                result.itemsSent += batch.items
                result.bytesSent += bytes
                detector.observe(batch.text)
            }
            result.finalAnswerSent = detector.found
            // The engine's summary arrives first unless the client left; then cancel the rest
            // (the generation included) and collect what the engine had.
            group.cancelAll()
            while let event = await group.next() {
                switch event {
                case .engine(let summary): result.summary = summary
                case .clientGone: result.clientGone = true
                case .watcherStopped: break
                }
            }
            return result
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// What a stream session did: the engine's summary and what reached the wire.
struct StreamResult {
    var summary: StreamSummary
    var written: [BatchRecord] = []
    var itemsSent = 0
    var bytesSent = 0
    var clientGone = false
    var finalAnswerSent = false
}
