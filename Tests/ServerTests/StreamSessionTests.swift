import HTTPTypes
import Hummingbird
import NIOCore
import Streaming
import Synchronization
import TestSupport
import Testing
@testable import Server

/// One streamed answer in process, with the clock moved by hand: the deadline, the drain at the
/// end of a shutdown's grace, a client that goes away, and one whose writes fail.
@Suite struct StreamSessionTests {
    /// The answer as the client would read it; writes fail once `failing` is set.
    final class Wire: ResponseBodyWriter, Sendable {
        let chunks = Mutex<[String]>([])
        let failing = Mutex(false)  // a class's stored Mutex: fine
        struct Gone: Error {}
        func write(_ buffer: ByteBuffer) async throws {
            if failing.withLock({ $0 }) { throw Gone() }
            chunks.withLock { $0.append(String(buffer: buffer)) }
        }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
        var received: [String] { chunks.withLock { $0 } }
    }

    /// A flag several tasks set and read.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    struct Setup {
        let clock = ManualClock()
        let wire = Wire()
        let drain = StopSignal()
        let watcher = ClientDisconnectWatcher()
        let items: AsyncThrowingStream<String, any Error>
        let feed: AsyncThrowingStream<String, any Error>.Continuation
        let cancelled = Flag()

        init() {
            (items, feed) = AsyncThrowingStream<String, any Error>.makeStream()
            feed.onTermination = { [cancelled] termination in
                if case .cancelled = termination { cancelled.set() }
            }
        }

        /// A session with a 10 s deadline, batches of 2, run in a task.
        func start() -> Task<StreamResult, Never> {
            let session = StreamSession(
                engine: StreamingEngine(batchSize: 2), items: items, deadline: clock.now.advanced(by: .seconds(10)),
                receivedAt: clock.now, clock: clock, disconnect: watcher, drain: drain
            )
            return Task { [wire] in
                var writer: any ResponseBodyWriter = wire
                return await session.run(writer: &writer)
            }
        }

        /// The backend's stream was cancelled (within a second: it happens as the session unwinds).
        func generationCancelled() async -> Bool {
            for _ in 0..<500 where !cancelled.isSet { try? await Task.sleep(for: .milliseconds(2)) }
            return cancelled.isSet
        }

        /// Waits (briefly, in real time) until the client has `count` chunks.
        func waitForChunks(_ count: Int) async -> Bool {
            for _ in 0..<500 where wire.received.count < count { try? await Task.sleep(for: .milliseconds(2)) }
            return wire.received.count >= count
        }
    }

    @Test func theDeadlineEndsTheStreamAndDropsTheRemainder() async {
        let setup = Setup()
        let run = setup.start()
        for word in ["a ", "b ", "c ", "d ", "e "] { setup.feed.yield(word) }
        #expect(await setup.waitForChunks(2))
        #expect(await setup.clock.waitForSleepers(1))  // the engine's deadline
        setup.clock.advance(by: .seconds(9))
        #expect(setup.wire.received.count == 2)
        setup.clock.advance(by: .seconds(1))
        let result = await run.value
        #expect(result.summary.end == .timedOut)
        #expect(setup.wire.received == ["a b ", "c d "])
        #expect(result.itemsSent == 4 && result.summary.itemsGenerated == 5)
        #expect(result.written.map(\.offset) == [0, 0])  // the clock had not moved when they went out
    }

    @Test func theDrainEndsTheStreamAsOnATimeout() async {
        let setup = Setup()
        let run = setup.start()
        setup.feed.yield("a ")
        setup.feed.yield("b ")
        #expect(await setup.waitForChunks(1))
        setup.feed.yield("c ")
        setup.drain.fire()
        let result = await run.value
        #expect(result.summary.end == .stopped)
        #expect(setup.wire.received == ["a b "])  // "c", if taken, dropped as on a timeout
        #expect(result.itemsSent == 2)
    }

    @Test func aClientThatGoesAwayCancelsTheGeneration() async {
        let setup = Setup()
        let run = setup.start()
        setup.feed.yield("a ")
        setup.feed.yield("b ")
        #expect(await setup.waitForChunks(1))
        setup.watcher.gone.fire()
        let result = await run.value
        #expect(result.clientGone)
        #expect(result.written.count == 1)
        #expect(await setup.generationCancelled())
    }

    @Test func aFailedWriteIsAClientGone() async {
        let setup = Setup()
        let run = setup.start()
        setup.feed.yield("a ")
        setup.feed.yield("b ")
        #expect(await setup.waitForChunks(1))
        setup.wire.failing.withLock { $0 = true }
        setup.feed.yield("c ")
        setup.feed.yield("d ")
        let result = await run.value
        #expect(result.clientGone)
        #expect(result.written.count == 1 && result.itemsSent == 2)
    }

    @Test func aBackendThatFinishesInTimeSendsTheRemainderLast() async {
        let setup = Setup()
        let run = setup.start()
        for word in ["a ", "b ", "c "] { setup.feed.yield(word) }
        setup.clock.advance(by: .seconds(3))
        setup.feed.finish()
        let result = await run.value
        #expect(result.summary.end == .finished)
        #expect(setup.wire.received == ["a b ", "c "])
        #expect(result.written.last?.isFinal == true)
    }
}
