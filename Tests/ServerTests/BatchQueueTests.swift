import NIOCore
import NIOPosix
import Streaming
import Synchronization
import Testing
@testable import Server

/// The queue of decided batches between the engine's task and the writer, and the executor
/// that keeps a stream's tasks on its connection's event loop.
@Suite struct BatchQueueTests {
    func batch(_ sequence: Int) -> Batch { Batch(sequence: sequence, text: "b\(sequence) ", items: 1, isFinal: false) }

    @Test func batchesComeOutInOrderAndTheEndAfterThem() async {
        let queue = BatchQueue()
        queue.yield(batch(0))
        queue.yield(batch(1))
        queue.finish()
        queue.yield(batch(2))  // after the end: dropped
        #expect(await queue.next()?.sequence == 0)
        #expect(await queue.next()?.sequence == 1)
        #expect(await queue.next() == nil)
        #expect(await queue.next() == nil)
    }

    /// An engine may decide a whole answer at once (the mock: 200,000 one-word batches); the
    /// queue keeps their order through its compactions, while more arrive between takes.
    @Test func aLargeBacklogKeepsItsOrder() async {
        let queue = BatchQueue()
        for sequence in 0..<50_000 { queue.yield(batch(sequence)) }
        var taken: [Int] = []
        for _ in 0..<30_000 { taken.append(await queue.next()!.sequence) }
        for sequence in 50_000..<60_000 { queue.yield(batch(sequence)) }
        queue.finish()
        while let next = await queue.next() { taken.append(next.sequence) }
        #expect(taken == Array(0..<60_000))
    }

    @Test func aWaitingConsumerGetsTheNextBatchOrTheEnd() async throws {
        let queue = BatchQueue()
        let consumer = Task { () -> [Int] in
            var got: [Int] = []
            while let batch = await queue.next() { got.append(batch.sequence) }
            return got
        }
        try await Task.sleep(for: .milliseconds(20))
        queue.yield(batch(0))
        try await Task.sleep(for: .milliseconds(20))
        queue.yield(batch(1))
        queue.finish()
        #expect(await consumer.value == [0, 1])
    }

    @Test func aCancelledConsumerEndsItsWait() async throws {
        let queue = BatchQueue()
        let consumer = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value == nil)
        queue.yield(batch(0))  // the stream ended with the cancellation
        #expect(await queue.next() == nil)
    }

    @Test func aStreamsTasksRunOnTheEventLoop() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let executor = EventLoopTaskExecutor(loop)
        let onLoop = await withTaskExecutorPreference(executor) { () async -> [Bool] in
            var seen = [loop.inEventLoop]
            try? await Task.sleep(for: .milliseconds(5))
            seen.append(loop.inEventLoop)
            // Child tasks inherit the preference.
            seen.append(await withTaskGroup(of: Bool.self) { group in
                group.addTask { loop.inEventLoop }
                return await group.next() ?? false
            })
            return seen
        }
        #expect(onLoop == [true, true, true])
    }
}
