import Backends
import Hummingbird
import LogStore
import NIOCore
import Streaming
import Synchronization

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
    /// Where the session's tasks run: the event loop of the client's connection (see
    /// `EventLoopTaskExecutor`); nil: Swift's global executor.
    var executor: EventLoopTaskExecutor? = nil

    private enum Event: Sendable {
        case engine(StreamSummary)
        case clientGone
        case watcherStopped
    }

    func run(writer: inout any ResponseBodyWriter) async -> StreamResult {
        guard let executor else { return await relay(writer: &writer) }
        return await withTaskExecutorPreference(executor) { await relay(writer: &writer) }
    }

    private func relay(writer: inout any ResponseBodyWriter) async -> StreamResult {
        let sink = BatchQueue()
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
            while let batch = await sink.next() {
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

/// The batches the engine decided, handed from its task to the writing one: as an
/// `AsyncStream<Batch>` with an unbounded buffer and one consumer (which this replaces on the
/// path of every batch: the standard library's stream runs unspecialised generic code and
/// looks up its metadata for every element). `yield` never waits and is dropped after
/// `finish`; `next` returns what is buffered, even after `finish` or the consuming task's
/// cancellation, then nil once finished or cancelled.
final class BatchQueue: Sendable {
    private struct State: ~Copyable {
        /// Batches not yet taken: `buffer[head...]`. A head index, not `removeFirst`, which
        /// moves every batch behind it (an engine may decide 200,000 batches at once).
        var buffer: [Batch] = []
        var head = 0
        var consumer: UnsafeContinuation<Batch?, Never>?
        var finished = false

        var isEmpty: Bool { head == buffer.count }

        mutating func take() -> Batch {
            let batch = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 4096, head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return batch
        }
    }

    private let state = Mutex(State())

    func yield(_ batch: Batch) {
        let consumer = state.withLock { state -> UnsafeContinuation<Batch?, Never>? in
            guard !state.finished else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            state.buffer.append(batch)
            return nil
        }
        consumer?.resume(returning: batch)
    }

    func finish() {
        let consumer = state.withLock { state -> UnsafeContinuation<Batch?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
    }

    func next() async -> Batch? {
        enum Now { case batch(Batch), end, wait }
        let now: Now = state.withLock { state in
            if !state.isEmpty { return .batch(state.take()) }
            return state.finished ? .end : .wait
        }
        switch now {
        case .batch(let batch): return batch
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (consumer: UnsafeContinuation<Batch?, Never>) in
                enum Action { case batch(Batch), end, waiting }
                let action: Action = state.withLock { state in
                    if !state.isEmpty { return .batch(state.take()) }
                    if state.finished { return .end }
                    state.consumer = consumer
                    return .waiting
                }
                switch action {
                case .batch(let batch): consumer.resume(returning: batch)
                case .end: consumer.resume(returning: nil)
                case .waiting: break
                }
            }
        } onCancel: {
            finish()  // as AsyncStream: the consumer's cancellation ends the stream
        }
    }
}

/// Runs tasks on one NIO event loop. A stream's tasks (the backend's reader, the engine, the
/// writer) preferring the event loop of the validator's connection relay a token without
/// leaving that thread: the write reaches the socket in the same call (NIO writes at once when
/// called on the channel's loop), and the backend's connection is taken on the same loop when
/// one is idle there (AsyncHTTPClient prefers the caller's loop). On Swift's global executor
/// each token crossed threads three or four times (the HTTP client's loop → a pool thread for
/// the parse → the engine → the writer → the connection's loop), each crossing a futex or
/// eventfd wake-up of a sleeping thread: most of a token's CPU on this 2-core VM.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // From the loop's own thread this only queues the job for the current tick (no wake-up).
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
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
