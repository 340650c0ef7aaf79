import Config

/// How the supervisor asks a running worker to stop.
public enum StopRequest: Sendable {
    /// SIGTERM: stop accepting, finish open streams within the grace period, flush, exit.
    case graceful
    /// SIGKILL.
    case force
}

/// What a launcher reports while a worker runs.
public struct WorkerEvents: Sendable {
    public var started: @Sendable (Int32) -> Void
    public var listening: @Sendable () -> Void
    public var stops: AsyncStream<StopRequest>

    public init(
        started: @escaping @Sendable (Int32) -> Void, listening: @escaping @Sendable () -> Void,
        stops: AsyncStream<StopRequest>
    ) {
        self.started = started
        self.listening = listening
        self.stops = stops
    }
}

/// Runs one worker process for a miner, from spawn to exit. A protocol so the supervision
/// logic can be tested with stand-in workers.
public protocol WorkerLauncher: Sendable {
    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit
}
