import NIOCore
import NIOPosix
import Testing
@testable import Backends

/// Deadlines as event-loop callbacks: they fire on time, and a cancelled one is gone at once
/// (not queued until its deadline, as a cancelled `Task.sleep` is on Linux).
@Suite struct EventLoopClockTests {
    let census = EventLoopClock.Census()
    var clock: EventLoopClock { EventLoopClock(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), census: census) }

    @Test func aSleepEndsAtItsDeadline() async throws {
        let started = ContinuousClock.now
        try await clock.sleep(for: .milliseconds(50))
        let slept = ContinuousClock.now - started
        #expect(slept >= .milliseconds(50))
        #expect(slept < .seconds(10))
        try await clock.sleep(until: clock.now - .seconds(1))  // past: returns at once
    }

    @Test func cancelledSleepsEndAtOnceAndLeaveNothingBehind() async throws {
        let clock = clock
        let started = ContinuousClock.now
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2_000 {
                group.addTask { [clock] in
                    do {
                        try await clock.sleep(for: .seconds(600))
                        return false
                    } catch {
                        return error is CancellationError
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(100))  // most are asleep by now; some may not have started
            group.cancelAll()
            var cancelled = 0
            for await wasCancelled in group where wasCancelled { cancelled += 1 }
            #expect(cancelled == 2_000)
        }
        #expect(ContinuousClock.now - started < .seconds(60))
        // The event loop let go of every cancelled callback (each holds its sleeper).
        #expect(census.alive.load(ordering: .relaxed) == 0)
    }

    @Test func aSleepCancelledBeforeItStartsThrows() async {
        let clock = clock
        let task = Task { [clock] in
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(600))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func aDeadlineCenturiesAwayIsClampedNotTrapped() async {
        let clock = clock
        let task = Task { [clock] in try await clock.sleep(for: .seconds(Int64.max / 2)) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func aLoopThatShutsDownEndsItsSleepsAsCancelled() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clock = EventLoopClock(eventLoop: group.next(), census: census)
        let sleeping = Task { [clock] in try await clock.sleep(for: .seconds(600)) }
        while census.alive.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        try await group.shutdownGracefully()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
    }

    @Test func withoutALoopItSleepsAsTaskSleepDoes() async throws {
        let started = ContinuousClock.now
        try await EventLoopClock(eventLoop: nil).sleep(for: .milliseconds(30))
        #expect(ContinuousClock.now - started >= .milliseconds(30))
    }
}
