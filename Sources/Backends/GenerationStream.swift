import AsyncAlgorithms
import Synchronization

/// One request's generation: a task of its own produces items into a channel that holds at most
/// one item in flight (the producer waits for the consumer), and the consumer's end cancels the
/// producer — the backend request is closed and nothing is left over for another request.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = String
    public typealias Failure = any Error

    private let channel: AsyncThrowingChannel<String, any Error>
    private let producer: Task<Void, Never>

    /// Starts `produce`, which sends items through `send` and returns when it has no more.
    public init(_ produce: @escaping @Sendable (_ send: @Sendable (String) async -> Void) async throws -> Void) {
        let channel = AsyncThrowingChannel<String, any Error>()
        self.channel = channel
        self.producer = Task {
            do {
                try await produce { item in await channel.send(item) }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingChannel<String, any Error>.Iterator
        let stopper: ProducerStopper

        public mutating func next() async throws -> String? {
            do {
                guard let item = try await base.next() else {
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
        AsyncIterator(base: channel.makeAsyncIterator(), stopper: ProducerStopper(producer: producer, channel: channel))
    }

    /// Cancels the producer when the consumer is done with the stream, however it ends.
    final class ProducerStopper: Sendable {
        let producer: Task<Void, Never>
        let channel: AsyncThrowingChannel<String, any Error>

        init(producer: Task<Void, Never>, channel: AsyncThrowingChannel<String, any Error>) {
            self.producer = producer
            self.channel = channel
        }

        func stop() {
            producer.cancel()
            channel.finish()  // resumes a producer waiting to send: its item is dropped
        }

        deinit { stop() }
    }
}
