import Config
import Foundation
import Keys
import Synchronization
import Wire

/// The checks between a request's headers and its body, in the Python axon's order:
/// blacklist (403) → verify: nonce and signature (401) → rate per validator (429, ours) →
/// priority and capacity (503).
/// Wording of 401 and 403 is the axon's: `Not Verified with error: …`, `Forbidden. Key is
/// blacklisted: ….`
public struct Admission: Sendable {
    public let ownHotkey: String
    public let config: AdmissionConfig
    let metagraph: MetagraphSnapshot?
    let nonces: NonceTable
    let gate: CapacityGate
    let rate: RateLimiter?

    public init(ownHotkey: String, config: AdmissionConfig, maxRequestsPerMinute: Int? = nil, maxRequestTimeout: Double = 300) throws {
        self.ownHotkey = ownHotkey
        self.config = config
        self.rate = maxRequestsPerMinute.map(RateLimiter.init)
        self.metagraph = try config.metagraph.map { try MetagraphSnapshot(path: $0) }
        self.nonces = NonceTable(maxFutureSkew: config.maxNonceSkew, maxRequestTimeout: maxRequestTimeout)
        self.gate = CapacityGate(maxConcurrent: config.maxConcurrentStreams, maxQueued: config.maxQueuedRequests)
    }

    /// A slot taken in the capacity gate; give it back when the request ends. A ticket that is
    /// dropped unreleased (a response never written) gives its slot back by itself.
    public final class Ticket: Sendable {
        let gate: CapacityGate
        /// Seconds spent waiting for a slot.
        public let queueWait: Double
        private let released = Mutex(false)

        init(gate: CapacityGate, queueWait: Double) {
            self.gate = gate
            self.queueWait = queueWait
        }

        public func release() async {
            guard released.withLock({ done in defer { done = true }; return !done }) else { return }
            await gate.leave()
        }

        deinit {
            if !released.withLock({ $0 }) { Task { [gate] in await gate.leave() } }
        }
    }

    /// Admits a request or says why not. `deadline` bounds the wait for a stream slot.
    public func admit(
        _ headers: SynapseHeaders, deadline: ContinuousClock.Instant, now: Double = Date().timeIntervalSince1970
    ) async throws(Rejection) -> Ticket {
        let stake = try authenticate(headers, now: now)
        try checkRate(headers, now: now)
        return try await enter(stake: stake, deadline: deadline)
    }

    /// Who is asking: the blacklist, then the nonce and the signature. Returns the caller's
    /// stake. Until this returns, the hotkey in the headers is only a claim.
    public func authenticate(_ headers: SynapseHeaders, now: Double = Date().timeIntervalSince1970) throws(Rejection) -> Double {
        let stake = try blacklist(headers.dendriteHotkey)
        try verify(headers, now: now)
        return stake
    }

    /// The rate per validator, for an authenticated request: every request it makes counts,
    /// refused or not, so a key cannot flood with requests that are refused later.
    public func checkRate(_ headers: SynapseHeaders, now: Double = Date().timeIntervalSince1970) throws(Rejection) {
        // After the signature: nobody can spend another validator's allowance.
        if let rate, !rate.allow(headers.dendriteHotkey ?? "", now: now) {
            throw Rejection(
                status: 429, reason: "rate_limited",
                message: "Too many requests: more than \(rate.perMinute) per minute from \(headers.dendriteHotkey ?? "this hotkey")"
            )
        }
    }

    /// A stream slot for an authenticated request, waiting by stake until `deadline` at most.
    public func enter(stake: Double, deadline: ContinuousClock.Instant) async throws(Rejection) -> Ticket {
        let started = ContinuousClock.now
        do {
            try await gate.enter(priority: stake, deadline: deadline)
        } catch {
            let load = await gate.load
            switch error {
            case .queueFull:
                throw Rejection(status: 503, reason: "over_capacity", message: "Service unavailable: \(load.active) streams running and \(load.queued) requests queued, the most this miner takes")
            case .waitedPastDeadline:
                throw Rejection(status: 503, reason: "queue_timeout", message: "Service unavailable: no stream slot became free before the request's deadline (\(load.active) streams running)")
            }
        }
        return Ticket(gate: gate, queueWait: (ContinuousClock.now - started).seconds)
    }

    /// Seconds back a starting worker must look for the nonces its miner accepted.
    public var nonceMemory: Double { nonces.memory }

    /// A nonce this miner accepted before it restarted (from its log): a replay of that request
    /// is refused as if this process had seen it.
    public func remember(hotkey: String, uuid: String?, nonce: Int64, now: Double = Date().timeIntervalSince1970) {
        nonces.remember(key: "\(hotkey):\(uuid ?? "None")", nonce: nonce, now: now)
    }

    /// The blacklist; returns the caller's stake (its priority in the queue).
    func blacklist(_ hotkey: String?) throws(Rejection) -> Double {
        func forbidden(_ reason: String, _ code: String) -> Rejection {
            Rejection(status: 403, reason: code, message: "Forbidden. Key is blacklisted: \(reason).")
        }
        let hotkey = hotkey ?? ""
        if config.deny.contains(hotkey) { throw forbidden("Hotkey \(hotkey) is on this miner's deny list", "denied") }
        let neuron = metagraph?.neuron(hotkey)
        if config.allow.contains(hotkey) { return neuron?.stake ?? 0 }
        guard let metagraph else { return 0 }
        guard let neuron else {
            if config.allowNonRegistered { return 0 }
            throw forbidden("Unrecognized hotkey \(hotkey.prefix(64)) (not in the metagraph snapshot \(metagraph.path))", "not_registered")
        }
        if config.requireValidatorPermit, !neuron.validatorPermit {
            throw forbidden("Hotkey \(hotkey) (uid \(neuron.uid)) has no validator permit", "no_validator_permit")
        }
        if neuron.stake < config.minStake {
            throw forbidden(String(format: "Stake of %@ (uid %d) is %.2f, below the minimum of %.2f", hotkey, neuron.uid, neuron.stake, config.minStake), "low_stake")
        }
        return neuron.stake
    }

    /// The nonce and the signature over `nonce.dendrite_hotkey.OWN_hotkey.uuid.computed_body_hash`.
    func verify(_ headers: SynapseHeaders, now: Double) throws(Rejection) {
        func notVerified(_ reason: String, _ code: String) -> Rejection {
            Rejection(status: 401, reason: code, message: "Not Verified with error: \(reason)")
        }
        guard let hotkey = headers.dendriteHotkey, !hotkey.isEmpty else { throw notVerified("Missing Hotkey", "missing_hotkey") }
        let publicKey: Sr25519.PublicKey
        do {
            publicKey = try SS58.decode(hotkey)
        } catch {
            throw notVerified("Invalid hotkey \(hotkey.prefix(64)): \(error)", "invalid_hotkey")
        }
        guard let nonce = headers.dendriteNonce else { throw notVerified("Missing Nonce", "missing_nonce") }
        let key = "\(hotkey):\(headers.dendriteUUID ?? "None")"
        if let problem = nonces.problem(key: key, nonce: nonce, timeout: headers.timeout ?? 12, now: now) {
            throw notVerified(problem, problem.hasPrefix("Nonce is too far") ? "future_nonce" : "stale_nonce")
        }
        guard let signatureText = headers.dendriteSignature, !signatureText.isEmpty else {
            throw notVerified("Missing Signature", "missing_signature")
        }
        // As bittensor-wallet: `0x` and hex digits of either case; anything else is malformed.
        guard signatureText.hasPrefix("0x"), let signature = Hex.decode(signatureText) else {
            throw notVerified("Invalid signature format. Expected hex string.", "bad_signature")
        }
        guard signature.count == 64 else { throw notVerified("Invalid SR25519 signature.", "bad_signature") }
        let message = "\(nonce).\(hotkey).\(ownHotkey).\(headers.dendriteUUID ?? "None").\(headers.computedBodyHash ?? "")"
        guard Sr25519.verifyAsBittensor(signature: signature, message: Array(message.utf8), publicKey: publicKey) else {
            // The axon's wording; the client's parts of it are bounded so a refusal stays small.
            throw notVerified("Signature mismatch with \(message.prefix(512)) and \(signatureText.prefix(140))", "bad_signature")
        }
        // Again, atomically with recording it: simultaneous copies pass the check above together.
        if let problem = nonces.admit(key: key, nonce: nonce, timeout: headers.timeout ?? 12, now: now) {
            throw notVerified(problem, "stale_nonce")
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
