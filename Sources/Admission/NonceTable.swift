import Synchronization

/// Replay protection, per `dendrite_hotkey:uuid` as the Python axon keys it:
/// - the first nonce seen for a key must be newer than `now − 4 s − timeout` (the axon's window);
/// - later ones must be strictly greater than the last accepted one;
/// - unlike the Python axon: a nonce more than `maxFutureSkew` ahead of our clock is refused
///   (it would otherwise block the key's honest nonces until then), every dendrite version is
///   held to the window (the axon skips it below 7.2.0 — no current validator sends that), and
///   keys idle for longer than the window are forgotten, so the table stays bounded: a replay of
///   a forgotten key's request is older than the window and fails the first rule.
public final class NonceTable: Sendable {
    public static let allowedDelta = 4.0

    private struct Entry {
        var nonce: Int64
        /// Our clock (Unix seconds) when it was accepted.
        var seenAt: Double
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var lastPrune = 0.0
    }
    private let state = Mutex(State())
    public let maxFutureSkew: Double
    /// How long a key is remembered: the window for the largest timeout we expect, and more.
    public let retention: Double

    public init(maxFutureSkew: Double = 30, retention: Double = 120) {
        self.maxFutureSkew = maxFutureSkew
        self.retention = retention
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

    /// Records an accepted nonce (after its signature verified).
    public func accept(key: String, nonce: Int64, now: Double) {
        state.withLock { state in
            if let last = state.entries[key], last.nonce >= nonce { return }
            state.entries[key] = Entry(nonce: nonce, seenAt: now)
            if now - state.lastPrune > retention / 4 {
                state.entries = state.entries.filter { now - $0.value.seenAt < retention }
                state.lastPrune = now
            }
        }
    }
}
