import Config
import Hummingbird
import LogStore
import Logging
import ServiceLifecycle
import Synchronization

/// One miner worker: the HTTP server for its synapses and the log writer, run as services so
/// SIGINT/SIGTERM stop accepting, let in-flight streams end, then flush the log.
public struct Worker: Sendable {
    /// Exit status when `stop_on_forward_exception` stopped the worker.
    public static let forwardExceptionExitCode: Int32 = 3

    public let miner: MinerConfig
    public let databasePath: String
    public let logger: Logger

    public init(miner: MinerConfig, databasePath: String, logger: Logger) {
        self.miner = miner
        self.databasePath = databasePath
        self.logger = logger
    }

    /// Serves until a shutdown signal or a forward exception (with `stop_on_forward_exception`).
    /// Returns the process exit status. `onRunning` receives the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> Int32 {
        let database = try LogDatabase.open(path: databasePath)
        let applied = try Migrations.migrate(database)
        if !applied.isEmpty { logger.info("database \(databasePath): applied \(applied.joined(separator: ", "))") }
        let log = LogWriter(database: database, logger: logger)
        let forwardException = Mutex<String?>(nil)
        // Set once the group exists; a backend failure asks it to stop after the response.
        let group = Mutex<ServiceGroup?>(nil)
        let app = makeApplication(log: log, onRunning: onRunning) { error in
            forwardException.withLock { $0 = error }
            let running = group.withLock { $0 }
            Task { await running?.triggerGracefulShutdown() }
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        group.withLock { $0 = serviceGroup }
        try await serviceGroup.run()
        if let error = forwardException.withLock({ $0 }) {
            logger.critical("stopped after a backend failure (stop_on_forward_exception): \(error)")
            return Self.forwardExceptionExitCode
        }
        return 0
    }

    /// The HTTP application; the log writer runs as one of its services and is flushed after
    /// the server has stopped.
    func makeApplication(
        log: LogWriter,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onForwardException: @escaping @Sendable (String) -> Void = { _ in }
    ) -> Application<SynapseResponder> {
        let responder = SynapseResponder(
            miner: miner, backend: miner.backend.makeBackend(), log: log, onForwardException: onForwardException
        )
        return Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientDisconnectWatcher()])),
            configuration: .init(address: .hostname(miner.host, port: miner.port), serverName: "miners"),
            services: [log],
            onServerRunning: { [logger, miner] channel in
                let port = channel.localAddress?.port ?? miner.port
                logger.info("miner \(miner.name) (\(miner.hotkey)) serving \(miner.synapses.joined(separator: ", ")) on \(miner.host):\(port)")
                await onRunning(port)
            },
            logger: logger
        )
    }
}
