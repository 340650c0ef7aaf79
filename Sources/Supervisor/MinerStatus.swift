/// Where a miner is in its life, as `miners status` shows it.
public enum MinerState: String, Codable, Sendable {
    /// A service waiting for the services it depends on, or for its turn on a shared GPU.
    case waiting
    case starting
    /// A worker listening; a service whose health check passed.
    case running
    /// A service whose last health check failed (it is restarted after `failures` in a row).
    case unhealthy
    case backingOff = "backing-off"
    case crashLooping = "crash-looping"
    case stopping
    case stopped
}

/// One row of the live table.
public struct MinerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var hotkey: String
    public var host: String
    public var port: Int
    public var backend: String
    public var batchSize: Int
    public var state: MinerState
    public var pid: Int32?
    /// Unix seconds the current process started.
    public var startedAt: Double?
    public var restarts: Int
    public var lastExit: String?
    /// Unix seconds.
    public var lastExitAt: Double?
    /// Unix seconds of the next start while backing off, or of the next try after a crash
    /// loop's cooldown.
    public var nextStartAt: Double?
    /// Lines of the worker's output that did not reach its log file (write failures, a file
    /// that would not open, a full queue), since the supervisor started.
    public var logLinesLost: Int
    /// Why the last one was lost.
    public var logError: String?
    /// Lines not echoed to the supervisor's standard error (`--echo-logs`): failed or dropped
    /// while the terminal did not keep up.
    public var echoLinesLost: Int
    public var echoError: String?
    /// Why the worker refuses requests with 503 (`backend_not_ready`): a service it needs is not
    /// ready. Nil when it serves.
    public var notReady: String?

    public init(
        name: String, hotkey: String, host: String, port: Int, backend: String, batchSize: Int, state: MinerState,
        pid: Int32? = nil, startedAt: Double? = nil, restarts: Int = 0, lastExit: String? = nil,
        lastExitAt: Double? = nil, nextStartAt: Double? = nil, logLinesLost: Int = 0, logError: String? = nil,
        echoLinesLost: Int = 0, echoError: String? = nil, notReady: String? = nil
    ) {
        self.name = name
        self.hotkey = hotkey
        self.host = host
        self.port = port
        self.backend = backend
        self.batchSize = batchSize
        self.state = state
        self.pid = pid
        self.startedAt = startedAt
        self.restarts = restarts
        self.lastExit = lastExit
        self.lastExitAt = lastExitAt
        self.nextStartAt = nextStartAt
        self.logLinesLost = logLinesLost
        self.logError = logError
        self.echoLinesLost = echoLinesLost
        self.echoError = echoError
        self.notReady = notReady
    }

    enum CodingKeys: String, CodingKey {
        case name, hotkey, host, port, backend, batchSize, state, pid, startedAt, restarts, lastExit, lastExitAt, nextStartAt
        case logLinesLost, logError, echoLinesLost, echoError, notReady
    }

    /// The loss counts are read leniently: `miners status` of a newer build may ask a
    /// supervisor started before they existed.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name), hotkey: try c.decode(String.self, forKey: .hotkey),
            host: try c.decode(String.self, forKey: .host), port: try c.decode(Int.self, forKey: .port),
            backend: try c.decode(String.self, forKey: .backend), batchSize: try c.decode(Int.self, forKey: .batchSize),
            state: try c.decode(MinerState.self, forKey: .state), pid: try c.decodeIfPresent(Int32.self, forKey: .pid),
            startedAt: try c.decodeIfPresent(Double.self, forKey: .startedAt), restarts: try c.decode(Int.self, forKey: .restarts),
            lastExit: try c.decodeIfPresent(String.self, forKey: .lastExit),
            lastExitAt: try c.decodeIfPresent(Double.self, forKey: .lastExitAt),
            nextStartAt: try c.decodeIfPresent(Double.self, forKey: .nextStartAt),
            logLinesLost: try c.decodeIfPresent(Int.self, forKey: .logLinesLost) ?? 0,
            logError: try c.decodeIfPresent(String.self, forKey: .logError),
            echoLinesLost: try c.decodeIfPresent(Int.self, forKey: .echoLinesLost) ?? 0,
            echoError: try c.decodeIfPresent(String.self, forKey: .echoError),
            notReady: try c.decodeIfPresent(String.self, forKey: .notReady)
        )
    }
}

/// What the supervisor answers to `GET /status`.
public struct SupervisorStatus: Codable, Sendable {
    public var pid: Int32
    public var config: String
    public var database: String
    /// Unix seconds.
    public var startedAt: Double
    public var miners: [MinerStatus]
    public var services: [ServiceStatus] = []
    /// The supervisor's own log lines that did not reach its standard error.
    public var stderrLinesLost: Int
    public var stderrError: String?

    public init(
        pid: Int32, config: String, database: String, startedAt: Double, miners: [MinerStatus], stderrLinesLost: Int = 0,
        stderrError: String? = nil
    ) {
        self.pid = pid
        self.config = config
        self.database = database
        self.startedAt = startedAt
        self.miners = miners
        self.stderrLinesLost = stderrLinesLost
        self.stderrError = stderrError
    }

    enum CodingKeys: String, CodingKey {
        case pid, config, database, startedAt, miners, services, stderrLinesLost, stderrError
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pid: try c.decode(Int32.self, forKey: .pid), config: try c.decode(String.self, forKey: .config),
            database: try c.decode(String.self, forKey: .database), startedAt: try c.decode(Double.self, forKey: .startedAt),
            miners: try c.decode([MinerStatus].self, forKey: .miners),
            stderrLinesLost: try c.decodeIfPresent(Int.self, forKey: .stderrLinesLost) ?? 0,
            stderrError: try c.decodeIfPresent(String.self, forKey: .stderrError)
        )
        services = try c.decodeIfPresent([ServiceStatus].self, forKey: .services) ?? []
    }
}
