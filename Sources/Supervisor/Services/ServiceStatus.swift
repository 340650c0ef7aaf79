/// One service's row of `miners status`.
public struct ServiceStatus: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: Int
    /// The program it runs.
    public var program: String
    public var gpus: [Int]
    public var state: MinerState
    /// What it waits for (`waiting`), or why it is not ready.
    public var note: String?
    public var pid: Int32?
    /// Unix seconds the current process started.
    public var startedAt: Double?
    /// Unix seconds of its first passed check since then.
    public var healthySince: Double?
    public var restarts: Int
    public var lastExit: String?
    public var lastExitAt: Double?
    public var nextStartAt: Double?
    public var lastCheck: Check?
    /// The miners that need it.
    public var dependents: [String]
    /// Bytes resident in its process tree at the last memory check (with `max_rss`).
    public var residentBytes: Int?
    public var logLinesLost: Int

    public struct Check: Codable, Sendable, Equatable {
        /// Unix seconds.
        public var at: Double
        public var healthy: Bool
        public var answer: String
        public var seconds: Double
    }
}
