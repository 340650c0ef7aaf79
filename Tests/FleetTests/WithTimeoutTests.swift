import Foundation
import Testing
@testable import Fleet

/// The replicator's bound on each step holds even when the step ignores cancellation (a
/// PostgreSQL connection attempt or a query in flight ends only when the server answers).
@Suite struct WithTimeoutTests {
    struct Refused: Error {}

    @Test func aBodyThatIgnoresCancellationDoesNotHoldTheCaller() async {
        let started = ContinuousClock.now
        await #expect(throws: FleetTimeout.self) {
            try await withTimeout(0.2, "a deaf step") {
                // Resumed 30 s later whatever happens: cancellation does not reach it.
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { continuation.resume() }
                }
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func theBodysResultOrErrorComesBack() async throws {
        #expect(try await withTimeout(30, "a quick step") { 42 } == 42)
        await #expect(throws: Refused.self) { try await withTimeout(30, "a failing step") { () -> Int in throw Refused() } }
    }

    @Test func cancellingTheCallerEndsTheWait() async {
        let task = Task {
            try await withTimeout(600, "a long step") {
                try await Task.sleep(for: .seconds(600))
                return 0
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
