import Synchronization

/// Replay protection, per `dendrite_hotkey:uuid` as the Python axon keys it:
/// - the first nonce seen for a key must be newer than `now − 4 s − timeout` (the axon's window);
/// - later ones must be strictly greater than the last accepted one;
/// - unlike the Python axon: a nonce more than `maxFutureSkew` ahead of our clock is refused
///   (it would otherwise block the key's honest nonces until then), every dendrite version is
///   held to the window (the axon skips it below 7.2.0 — no current validator sends that), and
///   a key is forgotten once its last nonce has left the window, so the table holds only the
///   keys of the last few seconds: a replay of a forgotten key's request fails the first rule.
public final class NonceTable: Sendable {
    public static let allowedDelta = 4.0

    private struct Entry {
        var nonce: Int64
        /// Unix seconds after which a request with this nonce is outside the window anyway.
        var forgetAt: Double
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var lastPrune = 0.0
    }
    private let state = Mutex(State())
    public let maxFutureSkew: Double
    /// Seconds between sweeps of the forgotten keys.
    public let pruneInterval: Double

    public init(maxFutureSkew: Double = 30, pruneInterval: Double = 5) {
        self.maxFutureSkew = maxFutureSkew
        self.pruneInterval = pruneInterval
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Checks `nonce` for `key` without recording it (the signature is checked next).
    /// Returns the refusal reason, worded as the Python axon words it, or nil.
    public func problem(key: String, nonce: Int64, timeout: Double, now: Double) -> String? {
        let nowNanoseconds = now * 1e9
        let last = state.withLock { $0.entries[key] }
        if let last {
            return nonce <= last.nonce ? "Nonce is too old, a newer one was last processed" : nil
        }
        let window = Self.allowedDelta + timeout
        let age = (nowNanoseconds - Double(nonce)) / 1e9
        if age >= window {
            return String(format: "Nonce is too old: acceptable delta is %.2f seconds but request was %.2f seconds old", window, age)
        }
        if -age > maxFutureSkew {
            return String(format: "Nonce is too far in the future: %.2f seconds ahead of this miner's clock (at most %.2f allowed)", -age, maxFutureSkew)
        }
        return nil
    }

    /// Records an accepted nonce (after its signature verified) of a request allowed `timeout`.
    public func accept(key: String, nonce: Int64, timeout: Double, now: Double) {
        // The nonce may be ahead of our clock (up to maxFutureSkew): its window ends later.
        let forgetAt = max(now, Double(nonce) / 1e9) + Self.allowedDelta + timeout + 1
        state.withLock { state in
            if let last = state.entries[key], last.nonce >= nonce { return }
            state.entries[key] = Entry(nonce: nonce, forgetAt: forgetAt)
            if now - state.lastPrune > pruneInterval {
                state.entries = state.entries.filter { $0.value.forgetAt > now }
                state.lastPrune = now
            }
        }
    }
}
