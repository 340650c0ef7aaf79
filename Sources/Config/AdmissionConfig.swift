/// Who a miner serves and how many at once.
public struct AdmissionConfig: Sendable, Equatable {
    /// Always admitted (after the signature check), whatever the metagraph says.
    public var allow: [String] = []
    /// Always refused.
    public var deny: [String] = []
    /// A metagraph snapshot (JSON); without one, any correctly signed request is served.
    public var metagraph: String?
    public var minStake: Double = 0
    public var requireValidatorPermit = false
    /// With a metagraph: serve hotkeys that are not in it.
    public var allowNonRegistered = false
    /// Streams served at once; more wait in a queue by stake.
    public var maxConcurrentStreams = 64
    public var maxQueuedRequests = 256
    /// How far ahead of this machine's clock a nonce may be, in seconds.
    public var maxNonceSkew: Double = 30

    public init() {}
}
