import Config
import Wire

/// The time one request may take, decided once from its `timeout` and bounded by the miner's
/// `max_request_timeout`. The same figure drives the wait for a stream slot, the engine's
/// deadline and the writer's; nothing downstream sees an unbounded number from outside.
public struct RequestBudget: Sendable, Equatable {
    /// What a dendrite means by a missing timeout (`Synapse.timeout`'s default).
    public static let defaultTimeout = 12.0

    /// Seconds the stream may run.
    public let seconds: Double

    /// `requested` is the request's `timeout` (non-negative and finite once parsed).
    public init(requested: Double?, policy: TimeoutPolicy, limit: Double, field: String = "Header 'timeout'") throws(Rejection) {
        let asked = requested ?? Self.defaultTimeout
        guard asked.isFinite, asked >= 0, asked <= limit else {
            throw Rejection(
                status: 400, reason: "timeout_too_large",
                message: "\(field) asks for \(asked) s; this miner allows at most \(limit) s (max_request_timeout)"
            )
        }
        // A fixed policy is bounded by the same limit when the config is read.
        seconds = min(policy.seconds(requested: asked), limit)
    }

    /// When the budget runs out, counted from `start`.
    public func deadline(from start: ContinuousClock.Instant) -> ContinuousClock.Instant {
        start + Self.duration(seconds)
    }

    /// A bounded number of seconds as a `Duration`, through milliseconds: `.seconds(Double)`
    /// traps on values that do not fit, and callers here never pass such values.
    public static func duration(_ seconds: Double) -> Duration {
        .milliseconds(Int64(min(max(seconds, 0), 1e9) * 1000))
    }
}
