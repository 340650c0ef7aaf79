/// The subnet's batching rules, one implementation for every backend:
/// - items collect in a buffer; when it holds `batchSize` items they go out as one batch;
/// - an item that would take the buffer past a `bounds` limit sends the buffer first (see
///   `BatchBounds`);
/// - once the deadline has passed, streaming stops and the unsent remainder is dropped — also
///   while the backend is silent, which a plain `for await` loop could not guarantee;
/// - when the backend finishes in time, the remainder goes out as the final batch;
/// - when the backend throws, the error ends the stream and the remainder is dropped;
/// - when `stop` fires (the worker's shutdown grace is over) the stream ends as on a timeout.
///
/// Batches are handed to `emit` synchronously, so the only suspension point is the wait for
/// the next item: a batch the engine decided to send is never lost to the deadline race.
public struct StreamingEngine: Sendable {
    public var batchSize: Int
    public var bounds: BatchBounds

    public init(batchSize: Int, bounds: BatchBounds = BatchBounds()) {
        precondition(batchSize > 0, "streaming_batch_size must be positive")
        self.batchSize = batchSize
        self.bounds = bounds
    }

    /// `items` must end its wait for the next item when the consuming task is cancelled (as
    /// `AsyncThrowingStream` and the backends' `GenerationStream` do): that is how the deadline
    /// stops a silent backend.
    public func run<C: Clock, Items: AsyncSequence & Sendable>(
        items: Items,
        deadline: C.Instant,
        clock: C,
        stop: StopSignal? = nil,
        emit: @escaping @Sendable (Batch) -> Void
    ) async -> StreamSummary where C.Duration == Duration, Items.Element == String {
        let batchSize = self.batchSize, bounds = self.bounds
        return await withTaskGroup(of: Race.self) { group in
            group.addTask {
                .consumer(await Self.consume(items, batchSize: batchSize, bounds: bounds, deadline: deadline, clock: clock, stop: stop, emit: emit))
            }
            if let stop {
                group.addTask {
                    await stop.wait()
                    return stop.isFired ? .deadline : .cancelled
                }
            }
            group.addTask {
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    return .deadline
                } catch {
                    return .cancelled
                }
            }
            var summary: StreamSummary?
            while let next = await group.next() {
                switch next {
                case .consumer(let result):
                    summary = result
                    group.cancelAll()
                case .deadline:
                    // The deadline or the stop signal: end the wait for the next item; the
                    // consumer reports what it held.
                    group.cancelAll()
                case .cancelled:
                    break
                }
            }
            return summary!
        }
    }

    private enum Race: Sendable {
        case consumer(StreamSummary)
        case deadline
        case cancelled
    }

    private static func consume<C: Clock, Items: AsyncSequence>(
        _ items: Items,
        batchSize: Int,
        bounds: BatchBounds,
        deadline: C.Instant,
        clock: C,
        stop: StopSignal?,
        emit: @Sendable (Batch) -> Void
    ) async -> StreamSummary where Items.Element == String, C.Duration == Duration {
        var buffer: [String] = []
        buffer.reserveCapacity(batchSize)
        var generated = 0, sent = 0, batches = 0
        var weight = BatchBounds.Weight()
        let started = clock.now
        var firstItem: C.Instant?, lastItem: C.Instant?

        func flush(final: Bool) {
            let text = buffer.joined()
            // An empty text would be a zero-length HTTP chunk, which ends the response.
            if !text.isEmpty {
                emit(Batch(sequence: batches, text: text, items: buffer.count, isFinal: final))
                batches += 1
            }
            sent += buffer.count
            buffer.removeAll(keepingCapacity: true)
            weight = BatchBounds.Weight()
        }
        func summary(_ end: StreamEnd) -> StreamSummary {
            var summary = StreamSummary(end: end, itemsGenerated: generated, itemsSent: sent, batches: batches)
            if let firstItem, let lastItem {
                summary.firstItemDelay = started.duration(to: firstItem)
                summary.generationTime = firstItem.duration(to: lastItem)
            }
            return summary
        }
        /// Cancellation means the deadline passed, the worker is stopping, or the request was abandoned.
        func interrupted() -> StreamSummary {
            if clock.now >= deadline { return summary(.timedOut) }
            return summary(stop?.isFired == true ? .stopped : .cancelled)
        }

        if clock.now >= deadline { return summary(.timedOut) }
        if stop?.isFired == true { return summary(.stopped) }
        do {
            for try await item in items {
                let now = clock.now
                if firstItem == nil { firstItem = now }
                lastItem = now
                if bounds.isUnbounded {
                    generated += 1
                    buffer.append(item)
                    // The template checks the clock after taking each item and before sending.
                    if now >= deadline { return summary(.timedOut) }
                    if Task.isCancelled || stop?.isFired == true { return interrupted() }
                    if buffer.count == batchSize { flush(final: false) }
                    continue
                }
                // Bounded: an item cut to fit counts as its pieces. The clock is read for every
                // piece (a server may send a whole answer in one item), and the loop lets other
                // work run now and then: it may be on a connection's event loop.
                let pieces = bounds.pieces(of: item)
                generated += pieces.count
                for (index, piece) in pieces.enumerated() {
                    if index > 0, index % 256 == 0 { await Task.yield() }
                    let pieceWeight = await bounds.weight(of: piece)
                    if clock.now >= deadline { return summary(.timedOut) }
                    if Task.isCancelled || stop?.isFired == true { return interrupted() }
                    if !buffer.isEmpty, bounds.exceeds(weight + pieceWeight) { flush(final: false) }
                    buffer.append(piece)
                    weight = weight + pieceWeight
                    if buffer.count == batchSize || bounds.isFull(weight) { flush(final: false) }
                }
            }
        } catch is CancellationError {
            return interrupted()
        } catch {
            var failed = summary(.failed(String(describing: error)))
            failed.failureIsRequestSpecific = (error as? any RequestSpecificFailure)?.isRequestSpecific ?? false
            return failed
        }
        // A stream ends early (returns nil) when its consumer is cancelled.
        if Task.isCancelled { return interrupted() }
        if !buffer.isEmpty { flush(final: true) }
        return summary(.finished)
    }
}
