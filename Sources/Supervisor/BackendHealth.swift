/// What `miners status` shows of one model server that miners use: its load, or why there is none.
public struct BackendHealth: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Metrics of a known server family were read.
        case ok
        /// It answered 200 without a metric of any known family.
        case noMetrics = "no-metrics"
        /// It answered another status (Ollama has no `/metrics`: 404).
        case httpError = "http-error"
        /// Refused, timed out, or not a URL the client can ask.
        case unreachable
    }

    /// The `base_url` of the first miner that uses it.
    public var endpoint: String
    public var metricsURL: String
    public var miners: [String]
    public var state: State
    /// Why, for every state but ok; for ok, whether the text was cut at the size bound.
    public var detail: String?
    public var server: ServerLoad.Server
    public var running: Double?
    public var waiting: Double?
    /// 0–1.
    public var kvCacheUsage: Double?

    public init(
        endpoint: String, metricsURL: String, miners: [String], state: State, detail: String? = nil,
        load: ServerLoad = ServerLoad()
    ) {
        self.endpoint = endpoint
        self.metricsURL = metricsURL
        self.miners = miners
        self.state = state
        self.detail = detail
        self.server = load.server
        self.running = load.running
        self.waiting = load.waiting
        self.kvCacheUsage = load.kvCacheUsage
    }
}
