import Config
import GRDB
import LogStore
import Logging
import ServiceLifecycle

/// Keeps the log database bounded while the supervisor runs: a retention round (rollups, then
/// deletion in small transactions, then incremental vacuum) a minute after start and every ten
/// minutes after, with the horizons of the config in force (a reload changes them). Off the
/// request path: its own connection, and the workers' writes go on between its transactions.
public struct RetentionService: Service {
    let database: DatabaseQueue
    let retention: @Sendable () async -> RetentionConfig
    let logger: Logger
    let clock: SupervisorClock
    let firstDelay: Double
    let interval: Double

    public init(
        database: DatabaseQueue, retention: @escaping @Sendable () async -> RetentionConfig, logger: Logger,
        clock: SupervisorClock = .system, firstDelay: Double = 60, interval: Double = 600
    ) {
        self.database = database
        self.retention = retention
        self.logger = logger
        self.clock = clock
        self.firstDelay = firstDelay
        self.interval = interval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var delay = firstDelay
            while true {
                try await clock.sleep(delay)
                delay = interval
                await round()
            }
        }
    }

    /// One round; a failure is logged and the next round tries again.
    func round() async {
        let horizons = await retention()
        var pass = RetentionPass(database: database, batches: horizons.batches, requests: horizons.requests, rollups: horizons.rollups)
        pass.keepUnreplicated = horizons.keepUnreplicated  // fleet: rows not yet in PostgreSQL stay
        do {
            let progress = try await pass.run(now: clock.now())
            if !progress.isEmpty { logger.info("retention: \(progress)") }
        } catch is CancellationError {
        } catch {
            logger.error("retention: \(error); the next round tries again in \(Int(interval / 60)) minutes")
        }
    }
}
