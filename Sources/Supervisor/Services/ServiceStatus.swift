/// One service's row of `miners status`.
public struct ServiceStatus: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: Int
    /// The program it runs.
    public var program: String
    public var gpus: [Int]
    public var state: MinerState
    /// What it waits for (`waiting`), or, until a check passes again, why the supervisor last
    /// restarted it (`never healthy within ...`).
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

    public init(
        name: String, host: String, port: Int, program: String, gpus: [Int], state: MinerState, note: String? = nil,
        pid: Int32? = nil, startedAt: Double? = nil, healthySince: Double? = nil, restarts: Int = 0, lastExit: String? = nil,
        lastExitAt: Double? = nil, nextStartAt: Double? = nil, lastCheck: Check? = nil, dependents: [String] = [],
        residentBytes: Int? = nil, logLinesLost: Int = 0
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.program = program
        self.gpus = gpus
        self.state = state
        self.note = note
        self.pid = pid
        self.startedAt = startedAt
        self.healthySince = healthySince
        self.restarts = restarts
        self.lastExit = lastExit
        self.lastExitAt = lastExitAt
        self.nextStartAt = nextStartAt
        self.lastCheck = lastCheck
        self.dependents = dependents
        self.residentBytes = residentBytes
        self.logLinesLost = logLinesLost
    }
}
