import Synchronization
import Testing
@testable import Backends

/// The hand-over between a generation's producing task and the stream's consumer: one item in
/// flight, the end and the failure of the producer, and the consumer's end stopping the producer.
@Suite struct GenerationStreamTests {
    struct Boom: Error, Equatable {}

    /// A counter several tasks touch.
    final class Count: Sendable {
        private let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var now: Int { value.withLock { $0 } }
    }

    /// Waits (briefly, in real time) until `condition` holds.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 where !condition() { try? await Task.sleep(for: .milliseconds(2)) }
        return condition()
    }

    /// A stream nobody reads (the request's deadline passed before the engine began) stops its
    /// producer when it is dropped: no task waits forever holding a backend connection.
    @Test func aStreamDroppedUnreadStopsItsProducer() async throws {
        let ended = Count()
        do {
            let stream = GenerationStream { send in
                await send("never taken")
                try? await Task.sleep(for: .seconds(60))  // ends early only when cancelled
                ended.add()
            }
            _ = stream
        }
        #expect(await eventually { ended.now == 1 }, "the producer of an unread stream was left running")
    }

    @Test func itemsArriveInOrderThenTheEnd() async throws {
        let stream = GenerationStream { send in
            for word in ["a", "b", "c"] { await send(word) }
        }
        var items: [String] = []
        for try await item in stream { items.append(item) }
        #expect(items == ["a", "b", "c"])
    }

    @Test func theProducerWaitsForTheConsumer() async throws {
        let sent = Count()
        let stream = GenerationStream { send in
            for word in ["a", "b", "c"] {
                await send(word)
                sent.add()
            }
        }
        var iterator = stream.makeAsyncIterator()
        // Nothing is taken: the first send waits.
        try await Task.sleep(for: .milliseconds(50))
        #expect(sent.now == 0)
        #expect(try await iterator.next() == "a")
        #expect(await eventually { sent.now == 1 })
        try await Task.sleep(for: .milliseconds(20))
        #expect(sent.now == 1)  // "b" waits for its consumer
        #expect(try await iterator.next() == "b")
        #expect(try await iterator.next() == "c")
        #expect(try await iterator.next() == nil)
        #expect(sent.now == 3)
    }

    @Test func aFailureReachesTheConsumerAfterTheItemsBeforeIt() async {
        let stream = GenerationStream { send in
            await send("a")
            throw Boom()
        }
        var items: [String] = []
        await #expect(throws: Boom.self) {
            for try await item in stream { items.append(item) }
        }
        #expect(items == ["a"])
    }

    @Test func aFailureWhileTheConsumerWaitsIsThrown() async {
        let stream = GenerationStream { _ in
            try await Task.sleep(for: .milliseconds(30))
            throw Boom()
        }
        var iterator = stream.makeAsyncIterator()
        await #expect(throws: Boom.self) { _ = try await iterator.next() }
    }

    @Test func theConsumersEndCancelsTheProducerAndDropsItsItem() async throws {
        let cancelled = Count()
        let stream = GenerationStream { send in
            await send("a")
            await send("b")  // waits: the consumer stops before taking it
            if Task.isCancelled { cancelled.add() }
            await send("c")  // returns at once: the channel is finished
        }
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == "a")
        iterator.stopper.stop()  // what the iterator does at its end, and its deinit
        #expect(await eventually { cancelled.now == 1 })
        #expect(try await iterator.next() == nil)
    }

    @Test func aCancelledConsumerEndsItsWait() async throws {
        let stream = GenerationStream { _ in
            try await Task.sleep(for: .seconds(30))  // a silent backend
        }
        let consumer = Task {
            var iterator = stream.makeAsyncIterator()
            return try await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(30))
        let started = ContinuousClock.now
        consumer.cancel()
        #expect(try await consumer.value == nil)
        #expect(ContinuousClock.now - started < .seconds(10), "the wait ended with the silent backend (30 s), not the cancel")
    }

    /// The producer runs on the executor set around the stream's creation.
    @Test func theProducerRunsOnTheExecutorSetAroundIt() async throws {
        final class Counting: TaskExecutor {
            let jobs = Count()
            func enqueue(_ job: consuming ExecutorJob) {
                jobs.add()
                let job = UnownedJob(job)
                Task.detached { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
            }
        }
        let executor = Counting()
        let stream = GenerationStream.$executor.withValue(executor) {
            GenerationStream { send in await send("a") }
        }
        var items: [String] = []
        for try await item in stream { items.append(item) }
        #expect(items == ["a"])
        #expect(executor.jobs.now > 0)
    }
}
