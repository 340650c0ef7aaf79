import NIOCore
import Synchronization

/// One request's generation: a task of its own produces items into a channel that holds at most
/// one item in flight (the producer waits for the consumer), and the consumer's end cancels the
/// producer — the backend request is closed and nothing is left over for another request.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = String
    public typealias Failure = any Error

    private let channel: Handoff
    /// Shared with the iterator: the producer is stopped when both are gone, so a stream that
    /// is never read (its deadline passed before the engine began) does not leave its
    /// producer waiting forever with a backend connection open.
    private let stopper: ProducerStopper

    /// Where the producing task runs when set around `generate` (nil: Swift's global executor):
    /// the worker sets the event loop of the request's connection, so that the backend's bytes,
    /// their parsing and the validator's write stay on one thread.
    @TaskLocal public static var executor: (any TaskExecutor)?
    /// That executor's event loop, where a backend's own waits are timed (`EventLoopClock`).
    @TaskLocal public static var eventLoop: (any EventLoop)?

    /// Starts `produce`, which sends items through `send` and returns when it has no more.
    public init(_ produce: @escaping @Sendable (_ send: @Sendable (String) async -> Void) async throws -> Void) {
        let channel = Handoff()
        self.channel = channel
        let producer = Task(executorPreference: Self.executor) {
            do {
                try await produce { item in await channel.send(item) }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
        self.stopper = ProducerStopper(producer: producer, channel: channel)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: Handoff
        let stopper: ProducerStopper

        public mutating func next() async throws -> String? {
            do {
                guard let item = try await channel.next() else {
                    stopper.stop()
                    return nil
                }
                return item
            } catch {
                stopper.stop()
                throw error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(channel: channel, stopper: stopper)
    }

    /// Cancels the producer when the consumer is done with the stream, however it ends.
    final class ProducerStopper: Sendable {
        let producer: Task<Void, Never>
        let channel: Handoff

        init(producer: Task<Void, Never>, channel: Handoff) {
            self.producer = producer
            self.channel = channel
        }

        func stop() {
            producer.cancel()
            channel.finish()  // resumes a producer waiting to send: its item is dropped
        }

        deinit { stop() }
    }

    /// The channel between the producer and the consumer: a rendezvous of one item, as
    /// AsyncAlgorithms' `AsyncThrowingChannel` (which this replaces on the path of every token:
    /// its general state machine for many producers and consumers, and the generic code it runs
    /// unspecialised, cost more than the rest of a token's hand-over).
    /// - `send` hands the item to a waiting consumer and returns, or waits until the consumer
    ///   takes it; once the channel is finished, or the sending task is cancelled, it returns at
    ///   once and the item is dropped.
    /// - `next` returns the offered item, or waits for one; after `finish` it returns nil; after
    ///   `fail` it throws the error once, then returns nil; when the consuming task is cancelled
    ///   it returns nil (and so does every later call).
    final class Handoff: Sendable {
        private struct State: ~Copyable {
            var offered: (item: String, producer: UnsafeContinuation<Void, Never>)?
            var consumer: UnsafeContinuation<String?, any Error>?
            var failure: (any Error)?
            var finished = false
            var consumerCancelled = false
            var producerCancelled = false
        }

        private let state = Mutex(State())

        /// What `next` can have without waiting.
        private enum Taken {
            case item(String, UnsafeContinuation<Void, Never>)
            case failure(any Error)
            case end

            /// Lets the producer go on; what `next` returns or throws.
            func resolve() throws -> String? {
                switch self {
                case .item(let item, let producer):
                    producer.resume()
                    return item
                case .failure(let error): throw error
                case .end: return nil
                }
            }
        }

        /// The offered item, the failure (once) or the end; nil when `next` must wait. With
        /// `endWhenCancelled` (about to wait), a cancelled consumer's `next` ends too.
        private static func take(_ state: inout State, endWhenCancelled: Bool) -> Taken? {
            if let offered = state.offered {
                state.offered = nil
                return .item(offered.item, offered.producer)
            }
            if let failure = state.failure {
                state.failure = nil
                return .failure(failure)
            }
            return state.finished || (endWhenCancelled && state.consumerCancelled) ? .end : nil
        }

        func send(_ item: String) async {
            // Without suspending (the usual case: the consumer is already waiting), as the
            // channel this replaces: a waiting consumer gets the item even if this task was
            // cancelled meanwhile.
            enum Now { case delivered(UnsafeContinuation<String?, any Error>), dropped, wait }
            let now: Now = state.withLock { state in
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .delivered(consumer)
                }
                return state.finished ? .dropped : .wait
            }
            switch now {
            case .delivered(let consumer):
                consumer.resume(returning: item)
                return
            case .dropped:
                return
            case .wait:
                break
            }
            await withTaskCancellationHandler {
                await withUnsafeContinuation { (producer: UnsafeContinuation<Void, Never>) in
                    enum Action { case dropped, delivered(UnsafeContinuation<String?, any Error>), waiting }
                    let action: Action = state.withLock { state in
                        if let consumer = state.consumer {
                            state.consumer = nil
                            return .delivered(consumer)
                        }
                        if state.finished || state.producerCancelled { return .dropped }
                        state.offered = (item, producer)
                        return .waiting
                    }
                    switch action {
                    case .dropped:
                        producer.resume()
                    case .delivered(let consumer):
                        consumer.resume(returning: item)
                        producer.resume()
                    case .waiting:
                        break
                    }
                }
            } onCancel: {
                let producer = state.withLock { state -> UnsafeContinuation<Void, Never>? in
                    state.producerCancelled = true
                    defer { state.offered = nil }
                    return state.offered?.producer
                }
                producer?.resume()
            }
        }

        func next() async throws -> String? {
            // Without suspending when an item is offered or the channel has ended (whether or
            // not this task is cancelled, as the channel this replaces).
            if let taken = state.withLock({ Self.take(&$0, endWhenCancelled: false) }) { return try taken.resolve() }
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (consumer: UnsafeContinuation<String?, any Error>) in
                    let taken: Taken? = state.withLock { state in
                        if let taken = Self.take(&state, endWhenCancelled: true) { return taken }
                        state.consumer = consumer
                        return nil
                    }
                    if let taken { consumer.resume(with: Result { try taken.resolve() }) }
                }
            } onCancel: {
                let consumer = state.withLock { state -> UnsafeContinuation<String?, any Error>? in
                    state.consumerCancelled = true
                    defer { state.consumer = nil }
                    return state.consumer
                }
                consumer?.resume(returning: nil)
            }
        }

        /// No more items: a waiting consumer gets nil, a waiting producer returns (its item dropped).
        func finish() {
            let (consumer, producer) = state.withLock { state in
                state.finished = true
                defer {
                    state.consumer = nil
                    state.offered = nil
                }
                return (state.consumer, state.offered?.producer)
            }
            consumer?.resume(returning: nil)
            producer?.resume()
        }

        /// The producer failed: the consumer gets `error` (once), then nil.
        func fail(_ error: any Error) {
            let (consumer, producer) = state.withLock { state in
                guard !state.finished else { return (UnsafeContinuation<String?, any Error>?.none, UnsafeContinuation<Void, Never>?.none) }
                state.finished = true
                defer {
                    state.consumer = nil
                    state.offered = nil
                }
                if state.consumer == nil { state.failure = error }
                return (state.consumer, state.offered?.producer)
            }
            consumer?.resume(throwing: error)
            producer?.resume()
        }
    }
}
