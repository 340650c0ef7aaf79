/// How long the log database keeps each kind of row (`retention:`). Raw rows older than their
/// horizon are summarised into hourly rollups first, then deleted; nil keeps them forever.
public struct RetentionConfig: Sendable, Equatable {
    /// `batches` rows: the timing of each batch of each answer.
    public var batches: Double? = 7 * RetentionConfig.day
    /// `requests` and `timeouts` rows, and the supervisor's own events (lifecycle, chain,
    /// losses, standing).
    public var requests: Double? = 90 * RetentionConfig.day
    /// `request_rollups` rows: one per hour, miner, validator and outcome.
    public var rollups: Double?
    /// With `fleet:` set: rows not yet replicated to PostgreSQL are never deleted.
    public var keepUnreplicated = false

    public static let day = 86_400.0
    /// The shortest horizon: rollups are made an hour after the hour ends (a request is written
    /// when it finishes), so raw rows must outlive that.
    public static let minimum = RetentionConfig.day
    /// The longest finite horizon: 100 years (beyond that, say `forever`).
    public static let maximum = 36_525 * RetentionConfig.day

    public init(batches: Double? = 7 * RetentionConfig.day, requests: Double? = 90 * RetentionConfig.day, rollups: Double? = nil) {
        self.batches = batches
        self.requests = requests
        self.rollups = rollups
    }
}
