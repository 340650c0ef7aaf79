/// Where a miner is in its life, as `miners status` shows it.
public enum MinerState: String, Codable, Sendable {
    case starting
    case running
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
    /// Unix seconds of the next start while backing off.
    public var nextStartAt: Double?

    public init(
        name: String, hotkey: String, host: String, port: Int, backend: String, batchSize: Int, state: MinerState,
        pid: Int32? = nil, startedAt: Double? = nil, restarts: Int = 0, lastExit: String? = nil,
        lastExitAt: Double? = nil, nextStartAt: Double? = nil
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
}
