import Synchronization

/// Replay protection, per `dendrite_hotkey:uuid` as the Python axon keys it:
/// - the first nonce seen for a key must be newer than `now − 4 s − timeout` (the axon's window),
///   where `timeout` is the request's, bounded by the miner's `max_request_timeout`: the header
///   is not signed, so a larger one must not widen the window;
/// - later ones must be strictly greater than the last accepted one;
/// - unlike the Python axon: a nonce more than `maxFutureSkew` ahead of our clock is refused
///   (it would otherwise block the key's honest nonces until then), and every dendrite version
///   is held to the window (the axon skips it below 7.2.0 — no current validator sends that).
/// A key is remembered until no request with its last nonce could pass the first rule, whatever
/// timeout it claims: `max(now, nonce) + 4 s + maxRequestTimeout`. Checking and recording are
/// one step under one lock, so of simultaneous copies of a request exactly one is admitted.
public final class NonceTable: Sendable {
    public static let allowedDelta = 4.0

    private struct Entry {
        var nonce: Int64
        /// Unix seconds after which no request with this nonce can be fresh.
        var forgetAt: Double
    }
    private struct State {
        /// By the key's hash (SipHash, seeded per process, so not steerable): a key holds a
        /// client-chosen uuid of any length, and the table keeps it for minutes.
        var entries: [Int: Entry] = [:]
        var lastPrune = 0.0
    }
    private let state = Mutex(State())
    public let maxFutureSkew: Double
    /// The longest timeout a request may claim: the window's and the memory's bound.
    public let maxRequestTimeout: Double
    /// Seconds between sweeps of the forgotten keys.
    public let pruneInterval: Double

    public init(maxFutureSkew: Double = 30, maxRequestTimeout: Double = 300, pruneInterval: Double = 5) {
        self.maxFutureSkew = maxFutureSkew
        self.maxRequestTimeout = maxRequestTimeout
        self.pruneInterval = pruneInterval
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Seconds a nonce stays remembered after its own time: as long as any request with it could
    /// still be fresh, whatever timeout it claims.
    public var memory: Double { Self.allowedDelta + maxRequestTimeout + 1 }

    /// When `nonce` may be forgotten (it may be ahead of our clock, up to maxFutureSkew: then
    /// its window ends later).
    private func forgetAt(_ nonce: Int64, now: Double) -> Double {
        max(now, Double(nonce) / 1e9) + memory
    }

    /// Checks `nonce` for `key` without recording it (cheap: before the signature is checked).
    /// Returns the refusal reason, worded as the Python axon words it, or nil.
    public func problem(key: String, nonce: Int64, timeout: Double, now: Double) -> String? {
        let last = state.withLock { $0.entries[key.hashValue] }
        return problem(last: last, nonce: nonce, timeout: timeout, now: now)
    }

    /// Checks and records `nonce` for `key` as one step (after its signature verified).
    /// Returns the refusal reason, or nil when the nonce is now the key's last.
    public func admit(key: String, nonce: Int64, timeout: Double, now: Double) -> String? {
        let forgetAt = forgetAt(nonce, now: now)
        return state.withLock { state in
            if let problem = problem(last: state.entries[key.hashValue], nonce: nonce, timeout: timeout, now: now) { return problem }
            state.entries[key.hashValue] = Entry(nonce: nonce, forgetAt: forgetAt)
            if now - state.lastPrune > pruneInterval {
                state.entries = state.entries.filter { $0.value.forgetAt > now }
                state.lastPrune = now
            }
            return nil
        }
    }

    /// Records a nonce accepted before (by an earlier worker of this miner, from its log), so a
    /// restart does not open a window for replays of what it served.
    public func remember(key: String, nonce: Int64, now: Double) {
        let forgetAt = forgetAt(nonce, now: now)
        state.withLock { state in
            if let last = state.entries[key.hashValue], last.nonce >= nonce { return }
            state.entries[key.hashValue] = Entry(nonce: nonce, forgetAt: forgetAt)
        }
    }

    private func problem(last: Entry?, nonce: Int64, timeout: Double, now: Double) -> String? {
        if let last, last.forgetAt > now {
            return nonce <= last.nonce ? "Nonce is too old, a newer one was last processed" : nil
        }
        // Doubles throughout: an Int64 nonce and any clock give finite values, no overflow.
        let window = Self.allowedDelta + min(max(timeout, 0), maxRequestTimeout)
        let age = now - Double(nonce) / 1e9
        if !(age < window) {  // NaN (a clock that cannot be read) is refused too
            return String(format: "Nonce is too old: acceptable delta is %.2f seconds but request was %.2f seconds old", window, age)
        }
        if -age > maxFutureSkew {
            return String(format: "Nonce is too far in the future: %.2f seconds ahead of this miner's clock (at most %.2f allowed)", -age, maxFutureSkew)
        }
        return nil
    }
}
