/// Webhooks the supervisor tells when something that costs rewards goes wrong (`alerts:`).
/// No webhook: no alerts.
public struct AlertsConfig: Sendable, Equatable {
    public var webhooks: [WebhookConfig] = []
    /// A miner with no validator request (one not refused) for this long, seconds; nil: off.
    public var noRequests: Double?
    /// Percent of a file system (the database's, the log directory's) free below which it is
    /// reported; nil: off.
    public var diskFree: Double? = 5
    /// A condition still there is reported again at most this often, seconds; nil: never.
    public var repeatEvery: Double? = 6 * 3600
    /// Messages per webhook per hour; beyond, they are counted and summarised once there is room.
    public var ratePerHour = 20
    /// How often the conditions are looked at, seconds.
    public var checkEvery: Double = 15
    /// The `env_file` the secrets were read from, for messages.
    public var environmentFile: String?

    public init() {}

    public var isEnabled: Bool { !webhooks.isEmpty }
}
