import Config

/// How the supervisor asks a running worker to stop.
public enum StopRequest: Sendable {
    /// The line `stop` on the worker's standard input (SIGTERM if that pipe fails): stop
    /// accepting, finish open streams within the grace period, flush, exit.
    case graceful
    /// SIGKILL.
    case force
}

/// What a launcher reports while a worker runs, and where its output losses are counted.
public struct WorkerEvents: Sendable {
    public var started: @Sendable (Int32) async -> Void
    public var listening: @Sendable () async -> Void
    public var stops: AsyncStream<StopRequest>
    public var output: WorkerOutput

    public init(
        started: @escaping @Sendable (Int32) async -> Void, listening: @escaping @Sendable () async -> Void,
        stops: AsyncStream<StopRequest>, output: WorkerOutput = WorkerOutput()
    ) {
        self.started = started
        self.listening = listening
        self.stops = stops
        self.output = output
    }
}

/// Runs one worker process for a miner, from spawn to exit. A protocol so the supervision
/// logic can be tested with stand-in workers.
public protocol WorkerLauncher: Sendable {
    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit
}
