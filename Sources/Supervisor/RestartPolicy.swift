import Config

/// Decides what happens after a worker exited on its own: restart after an exponential backoff
/// with jitter, or give up when it keeps crashing. Pure: times and randomness come in.
public struct RestartPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Start again after this many seconds.
        case restart(after: Double)
        /// Too many restarts within the window: leave the miner stopped.
        case crashLooping(restarts: Int, window: Double)
    }

    public let config: RestartPolicyConfig
    /// Times of the restarts still inside the window.
    private(set) var restarts: [Double] = []
    private var backoff: Double

    public init(_ config: RestartPolicyConfig) {
        self.config = config
        self.backoff = config.backoffInitial
    }

    /// - Parameters:
    ///   - now: when the worker exited (seconds on any monotonic scale).
    ///   - uptime: how long it had run.
    ///   - jitter: a random number in 0..<1; the delay varies by ±20 % so that workers that
    ///     crashed together do not restart in lockstep.
    public mutating func decide(now: Double, uptime: Double, jitter: Double) -> Decision {
        if uptime >= config.minUptime { backoff = config.backoffInitial }
        restarts.removeAll { $0 <= now - config.window }
        if restarts.count >= config.maxRestarts {
            return .crashLooping(restarts: restarts.count, window: config.window)
        }
        let delay = min(backoff, config.backoffMax) * (0.8 + 0.4 * jitter)
        backoff = min(backoff * 2, config.backoffMax)
        restarts.append(now + delay)
        return .restart(after: delay)
    }

    /// Forget the history (an operator restarted the miner by hand).
    public mutating func reset() {
        restarts.removeAll()
        backoff = config.backoffInitial
    }
}
