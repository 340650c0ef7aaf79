import Config
import GRDB
import LogStore
import Logging
import ServiceLifecycle

/// The supervisor's replication service: a `Replicator` for the config's current `fleet:`,
/// followed across reloads. A reload that changes it (another server, host name, or password
/// in the env_file) replaces the replicator, one that removes it stops replicating, one that
/// adds it starts; the workers run on. A replaced replicator stops at once: a transaction it had
/// in flight is rolled back or committed, and either way its rows are sent again by the next
/// one and stored once. At a graceful shutdown the current one sends the last rows.
public struct FleetReplication: Service {
    let fleet: @Sendable () async -> FleetConfig?
    let openDatabase: @Sendable () throws -> DatabaseQueue
    let options: Replicator.Options
    let poll: Duration
    let logger: Logger

    /// `fleet` is read every `poll`; `openDatabase` gives the replicator its own connection
    /// (without `fleet:`, it marks replication off and is closed again).
    public init(
        fleet: @escaping @Sendable () async -> FleetConfig?, openDatabase: @escaping @Sendable () throws -> DatabaseQueue,
        options: Replicator.Options = .init(), poll: Duration = .seconds(1), logger: Logger
    ) {
        self.fleet = fleet
        self.openDatabase = openDatabase
        self.options = options
        self.poll = poll
        self.logger = logger
    }

    public func run() async {
        var current = await fleet()
        while true {
            var database: DatabaseQueue?
            do {
                let opened = try openDatabase()
                if current == nil {
                    try await opened.write { try ReplicationProgress.markOff($0) }
                } else {
                    database = opened
                }
            } catch {
                // The supervisor opened the same file a moment ago: not expected; the rows
                // stay in SQLite and the next reload or start tries again.
                logger.error("fleet: cannot use the log database for replication: \(error)")
            }
            guard case .changed(let next) = await replicate(current, database) else { return }
            switch (current, next) {
            case (_, nil): logger.notice("fleet: removed from the config by a reload; replication stops")
            case (nil, let next?): logger.notice("fleet: added by a reload; replicating to \(next.postgres) as host '\(next.host)'")
            case (_, let next?): logger.notice("fleet: changed by a reload; replicating to \(next.postgres) as host '\(next.host)' from now on")
            }
            current = next
        }
    }

    private enum Ended: Sendable {
        case replicator, changed(FleetConfig?), shuttingDown
    }

    /// Runs `fleet`'s replicator until the config's `fleet:` changes (`.changed`) or the group
    /// shuts down (after the replicator's last round).
    private func replicate(_ fleet: FleetConfig?, _ database: DatabaseQueue?) async -> Ended {
        await withTaskGroup(of: Ended.self) { group in
            if let fleet, let database {
                let replicator = Replicator(fleet: fleet, database: database, options: options, logger: logger)
                group.addTask {
                    try? await replicator.run()
                    return .replicator
                }
            }
            group.addTask {
                do {
                    return try await cancelWhenGracefulShutdown { () async throws -> Ended in
                        while true {
                            try await Task.sleep(for: poll)
                            let now = await self.fleet()
                            if now != fleet { return .changed(now) }
                        }
                    }
                } catch {
                    return .shuttingDown  // or cancelled: the replicator ended
                }
            }
            while let ended = await group.next() {
                switch ended {
                case .replicator where !Task.isShuttingDownGracefully && !Task.isCancelled:
                    // Not expected (it retries whatever fails); the watch goes on, and a
                    // reload or the next start replicates again.
                    logger.error("fleet: the replicator stopped; replication resumes at the next change of fleet: or start")
                    continue
                case .changed where !Task.isShuttingDownGracefully:
                    group.cancelAll()  // the replicator stops now; its rows go with the next one
                case .replicator:
                    group.cancelAll()  // shut down (after its last round): the watch has nothing to do
                case .changed, .shuttingDown:
                    break  // shutting down: the replicator sends its last rows, then returns
                }
                await group.waitForAll()
                return Task.isShuttingDownGracefully || Task.isCancelled ? .shuttingDown : ended
            }
            return .shuttingDown
        }
    }
}
