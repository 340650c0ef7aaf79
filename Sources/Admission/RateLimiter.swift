import Synchronization

/// Requests per minute per validator hotkey, as a token bucket: a validator may burst up to
/// the minute's allowance and then gets one more every `60 / limit` seconds. Keys that have
/// refilled completely are dropped, so the table holds only recently active hotkeys.
public final class RateLimiter: Sendable {
    public let perMinute: Int
    private struct Bucket {
        var tokens: Double
        var at: Double
    }
    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastSweep = 0.0
    }
    private let state = Mutex(State())

    public init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Takes one request's token; false when the hotkey has none left.
    public func allow(_ key: String, now: Double) -> Bool {
        let capacity = Double(perMinute), rate = capacity / 60
        return state.withLock { state in
            var bucket = state.buckets[key] ?? Bucket(tokens: capacity, at: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.at) * rate)
            bucket.at = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            state.buckets[key] = bucket
            if now - state.lastSweep > 60 {
                state.buckets = state.buckets.filter { now - $0.value.at < 60 }
                state.lastSweep = now
            }
            return allowed
        }
    }
}
