import Synchronization
import Testing
@testable import Streaming

/// The seed's rules at their edges. Items come from a stream the test feeds; the deadline is
/// real time, with margins wide enough for a loaded CI machine.
@Suite struct StreamingEngineTests {
    let clock = ContinuousClock()

    /// Runs the engine over `items`, then either finishes the stream, fails it, or leaves it
    /// open (a silent backend).
    func run(
        batchSize: Int = 12, items: [String], end: StreamEndMode = .finish,
        deadline: Duration = .seconds(30)
    ) async -> (StreamSummary, [Batch]) {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        for item in items { continuation.yield(item) }
        switch end {
        case .finish: continuation.finish()
        case .fail: continuation.finish(throwing: TestFailure())
        case .stayOpen: break
        }
        let batches = Mutex<[Batch]>([])
        let summary = await StreamingEngine(batchSize: batchSize).run(
            items: stream, deadline: clock.now + deadline, clock: clock
        ) { batch in batches.withLock { $0.append(batch) } }
        continuation.finish()
        return (summary, batches.withLock { $0 })
    }

    enum StreamEndMode { case finish, fail, stayOpen }
    struct TestFailure: Error {}

    func words(_ count: Int) -> [String] { (0..<count).map { "w\($0) " } }

    /// The summary without its timings, to compare counts.
    func counts(_ summary: StreamSummary) -> StreamSummary {
        var counts = summary
        counts.firstItemDelay = nil
        counts.generationTime = nil
        return counts
    }

    @Test func theBackendsPaceIsMeasured() async {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        let feeder = Task {
            try await Task.sleep(for: .milliseconds(100))
            for item in words(11) {
                continuation.yield(item)
                try await Task.sleep(for: .milliseconds(10))
            }
            continuation.finish()
        }
        let summary = await StreamingEngine(batchSize: 4).run(items: stream, deadline: clock.now + .seconds(30), clock: clock) { _ in }
        _ = try? await feeder.value
        #expect(summary.firstItemDelay.map { $0 >= .milliseconds(100) && $0 < .seconds(3) } == true)
        #expect(summary.itemsPerSecond.map { $0 > 5 && $0 <= 100 } == true, "\(String(describing: summary.itemsPerSecond))")
        #expect(StreamSummary(end: .finished, itemsGenerated: 1, itemsSent: 1, batches: 1).itemsPerSecond == nil)
    }

    @Test func noItemsIsAnEmptyAnswer() async {
        let (summary, batches) = await run(items: [])
        #expect(counts(summary) == StreamSummary(end: .finished, itemsGenerated: 0, itemsSent: 0, batches: 0))
        #expect(batches.isEmpty)
        #expect(Outcome.of(summary.end, batchesWritten: 0, clientGone: false) == .empty)
    }

    @Test func fewerThanABatchGoOutAsTheFinalBatch() async {
        let (summary, batches) = await run(items: words(5))
        #expect(batches == [Batch(sequence: 0, text: words(5).joined(), items: 5, isFinal: true)])
        #expect(summary.end == .finished)
        #expect(summary.itemsSent == 5)
    }

    @Test func exactMultiplesSendNoExtraBatch() async {
        let (summary, batches) = await run(batchSize: 4, items: words(8))
        #expect(batches.map(\.items) == [4, 4])
        #expect(batches.map(\.isFinal) == [false, false])
        #expect(batches.map(\.text) == [words(8)[0..<4].joined(), words(8)[4..<8].joined()])
        #expect(counts(summary) == StreamSummary(end: .finished, itemsGenerated: 8, itemsSent: 8, batches: 2))
    }

    @Test func aRemainderFollowsFullBatches() async {
        let (_, batches) = await run(batchSize: 4, items: words(10))
        #expect(batches.map(\.items) == [4, 4, 2])
        #expect(batches.map(\.sequence) == [0, 1, 2])
        #expect(batches.map(\.isFinal) == [false, false, true])
    }

    /// The items are queued before the engine starts; the deadline leaves a loaded machine
    /// seconds to start the engine's task and take them before it passes.
    @Test func timeoutBeforeTheFirstBatchSendsNothing() async {
        let started = clock.now
        let (summary, batches) = await run(items: words(5), end: .stayOpen, deadline: .seconds(10))
        #expect(batches.isEmpty)
        #expect(counts(summary) == StreamSummary(end: .timedOut, itemsGenerated: 5, itemsSent: 0, batches: 0))
        #expect(summary.itemsUnsent == 5)
        #expect(Outcome.of(summary.end, batchesWritten: 0, clientGone: false) == .emptyTimeout)
        #expect(clock.now - started < .seconds(20))
    }

    @Test func timeoutMidBatchDropsTheRemainder() async {
        let (summary, batches) = await run(items: words(15), end: .stayOpen, deadline: .seconds(10))
        #expect(batches.map(\.items) == [12])
        #expect(counts(summary) == StreamSummary(end: .timedOut, itemsGenerated: 15, itemsSent: 12, batches: 1))
        #expect(Outcome.of(summary.end, batchesWritten: 1, clientGone: false) == .partialTimeout)
    }

    @Test func theDeadlineHoldsWhileTheBackendIsSilent() async {
        let started = clock.now
        let (summary, _) = await run(items: [], end: .stayOpen, deadline: .milliseconds(300))
        let elapsed = clock.now - started
        #expect(summary.end == .timedOut)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(8))
    }

    @Test func aPassedDeadlineSendsNothing() async {
        let (summary, batches) = await run(items: words(30), deadline: .zero)
        #expect(summary.end == .timedOut)
        #expect(batches.isEmpty)
    }

    /// The template checks the clock after taking each item: an item that arrives after the
    /// deadline is not sent, even when it completes a batch.
    @Test func anItemAfterTheDeadlineDoesNotCompleteABatch() async {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        let batches = Mutex<[Batch]>([])
        let feeder = Task {
            for item in words(11) { continuation.yield(item) }
            try await Task.sleep(for: .milliseconds(400))
            continuation.yield("late ")
            continuation.finish()
        }
        let summary = await StreamingEngine(batchSize: 12).run(
            items: stream, deadline: clock.now + .milliseconds(150), clock: clock
        ) { batch in batches.withLock { $0.append(batch) } }
        feeder.cancel()
        #expect(summary.end == .timedOut)
        #expect(summary.itemsSent == 0)
        #expect(batches.withLock { $0.isEmpty })
    }

    @Test func backendFailureDropsTheUnsentRemainder() async {
        let (summary, batches) = await run(batchSize: 4, items: words(6), end: .fail)
        #expect(batches.map(\.items) == [4])
        #expect(summary.itemsGenerated == 6)
        #expect(summary.itemsSent == 4)
        guard case .failed(let message) = summary.end else {
            Issue.record("expected a failure, got \(summary.end)")
            return
        }
        #expect(message.contains("TestFailure"))
        #expect(Outcome.of(summary.end, batchesWritten: 1, clientGone: false) == .streamError)
    }

    @Test func multiByteItemsStayWhole() async {
        let items = ["ü ", "日本語", "😀", "🧮 ", "e\u{301}", "∫"]
        let (_, batches) = await run(batchSize: 4, items: items)
        #expect(batches.map(\.text) == ["ü 日本語😀🧮 ", "e\u{301}∫"])
        #expect(batches.map(\.text).joined() == items.joined())
    }

    /// An empty batch would be a zero-length chunk, which ends an HTTP chunked body.
    @Test func emptyItemsNeverMakeAnEmptyBatch() async {
        let (summary, batches) = await run(batchSize: 2, items: ["", "", "a", "", ""])
        #expect(batches == [Batch(sequence: 0, text: "a", items: 2, isFinal: false)])
        #expect(summary.itemsSent == 5)
    }

    @Test func cancellationFromOutsideIsNotATimeout() async {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        continuation.yield("a ")
        let task = Task {
            await StreamingEngine(batchSize: 12).run(items: stream, deadline: clock.now + .seconds(30), clock: clock) { _ in }
        }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let summary = await task.value
        #expect(summary.end == .cancelled)
        #expect(summary.itemsGenerated == 1)
        #expect(Outcome.of(summary.end, batchesWritten: 0, clientGone: false) == .clientDisconnect)
    }

    @Test func outcomesFollowTheBatchesThatReachedTheWire() {
        #expect(Outcome.of(.finished, batchesWritten: 2, clientGone: false) == .complete)
        #expect(Outcome.of(.finished, batchesWritten: 2, clientGone: true) == .clientDisconnect)
        #expect(Outcome.of(.timedOut, batchesWritten: 0, clientGone: false) == .emptyTimeout)
    }
}
