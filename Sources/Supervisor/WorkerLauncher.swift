import Config

/// What the supervisor tells a running worker or service guard, over its pipe.
public enum StopRequest: Sendable, Equatable {
    /// The line `stop` on the worker's standard input (SIGTERM if that pipe fails): stop
    /// accepting, finish open streams within the grace period, flush, exit.
    case graceful
    /// SIGKILL to its process group.
    case force
    /// Whether the miner's services are ready (the line `ready`, or `not_ready REASON`), for a
    /// worker started with `--backend-gate`: until they are, it refuses requests with 503.
    case backend(ready: Bool, reason: String)
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

/// Runs one worker process for a miner, or one service, from spawn to exit. A protocol so the
/// supervision logic can be tested with stand-in processes.
public protocol WorkerLauncher: Sendable {
    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit
    func runService(_ service: ServiceConfig, events: WorkerEvents) async throws -> WorkerExit
}

extension WorkerLauncher {
    public func runService(_ service: ServiceConfig, events: WorkerEvents) async throws -> WorkerExit {
        throw ServiceLaunchUnsupported()
    }
}

struct ServiceLaunchUnsupported: Error, CustomStringConvertible {
    var description: String { "this launcher runs no services" }
}
