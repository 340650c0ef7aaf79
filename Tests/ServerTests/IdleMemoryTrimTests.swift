import Synchronization
import TestSupport
import Testing
@testable import Server

/// The heap is trimmed once per burst: after `quiet` with no stream, never during one, and an
/// idle worker's trimmer sleeps on nothing.
@Suite struct IdleMemoryTrimTests {
    final class Trims: Sendable {
        let count = Atomic(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// Runs a trimmer on a manual clock; `body` drives it.
    func withTrimmer(_ body: (IdleMemoryTrim, ManualClock, Trims) async throws -> Void) async throws {
        let clock = ManualClock()
        let trims = Trims()
        let trimmer = IdleMemoryTrim(quiet: .seconds(2), clock: clock) { trims.count.add(1, ordering: .relaxed) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await trimmer.run() }
            try await body(trimmer, clock, trims)
            group.cancelAll()
        }
    }

    /// Waits (at most 10 s) for `condition`.
    func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func theHeapIsTrimmedOnceAfterTheLastStreamEnds() async throws {
        try await withTrimmer { trimmer, clock, trims in
            trimmer.streamStarted()
            trimmer.streamStarted()
            trimmer.streamEnded()
            // One stream still runs: nothing waits to trim, however long it takes.
            try await Task.sleep(for: .milliseconds(50))
            #expect(clock.sleeperCount == 0)
            clock.advance(by: .seconds(60))
            #expect(trims.value == 0)
            trimmer.streamEnded()
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .seconds(2))
            try await eventually { trims.value == 1 }
            #expect(trims.value == 1)
            // Trimmed: parked again, no timer.
            try await eventually { clock.sleeperCount == 0 }
            #expect(clock.sleeperCount == 0)
        }
    }

    @Test func aStreamWithinTheQuietPeriodPostponesTheTrim() async throws {
        try await withTrimmer { trimmer, clock, trims in
            trimmer.streamStarted()
            trimmer.streamEnded()
            #expect(await clock.waitForSleepers(1))
            trimmer.streamStarted()
            trimmer.streamEnded()
            clock.advance(by: .seconds(2))  // the first quiet period saw activity
            #expect(await clock.waitForSleepers(1))
            #expect(trims.value == 0)
            clock.advance(by: .seconds(2))
            try await eventually { trims.value == 1 }
            #expect(trims.value == 1)
        }
    }

    @Test func anIdleTrimmerStopsWhenCancelled() async throws {
        try await withTrimmer { _, clock, trims in
            try await Task.sleep(for: .milliseconds(20))
            #expect(clock.sleeperCount == 0)
            #expect(trims.value == 0)
        }
    }
}
