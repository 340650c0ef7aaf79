import Foundation

/// The supervisor's time: the wall clock for what `status` shows and a sleep for backoffs,
/// crash-loop cooldowns and stop deadlines. Injected so that tests of a five-minute cooldown
/// do not wait five minutes.
public struct SupervisorClock: Sendable {
    /// Unix seconds.
    public var now: @Sendable () -> Double
    /// Waits this many seconds; throws when the task is cancelled.
    public var sleep: @Sendable (Double) async throws -> Void

    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static let system = SupervisorClock(
        now: { Date().timeIntervalSince1970 },
        // Bounded before the conversion: a NaN or a huge wait (a hostile Retry-After) must not trap.
        sleep: { seconds in try await Task.sleep(for: .milliseconds(Int64(seconds.isNaN ? 0 : min(max((seconds * 1000).rounded(.up), 0), 1e15)))) }
    )
}
