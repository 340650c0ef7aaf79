import ArgumentParser
import Config
import Foundation
import LogStore
import Logging
import ServiceLifecycle
import Supervisor
import UnixSignals

struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Run every miner of a config, each as its own worker process, until SIGINT or SIGTERM.",
        discussion: """
            Checks the config (and that every port is free) before anything starts, then starts \
            one `miners worker` per miner and restarts any that exits on its own, with backoff \
            (restart: in the config). Each worker's output goes to LOG_DIR/NAME.log.

            Signals: SIGINT/SIGTERM stop every worker gracefully (open streams may finish for \
            supervisor.grace_period seconds) and exit 0; a second one kills them. SIGHUP reloads \
            the config (as `miners reload`). Workers stop by themselves within a second if the \
            supervisor is killed.

            Metrics: with supervisor.metrics_port set, Prometheus metrics per miner (requests by \
            outcome, rejections, batches, items, time to first batch, restarts) at \
            http://metrics_host:metrics_port/metrics, counted from the log since the supervisor started.

            Control: `miners status`, `miners reload`, `miners restart|stop|start NAME`, over a \
            Unix socket next to the database.
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    @Flag(name: .long, help: "Also print every worker's log lines on standard error, prefixed with the miner's name.")
    var echoLogs = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        var supervisorLogger = Logger(label: "miners.supervisor")
        supervisorLogger.logLevel = logLevel
        let logger = supervisorLogger
        let config: MinersConfig
        let lock: SupervisorLock
        do {
            // The lock first: a second supervisor is told who holds the database, not that its
            // ports are taken (by the first one's workers).
            let database = try MinersConfig.databasePath(of: self.config)
            lock = try SupervisorLock(database: database)
            config = try ConfigCheck.run(path: self.config)
        } catch {
            printError(error is ConfigError ? "config error: \(error)" : "\(error)")
            throw ExitCode(1)
        }
        // A Unix socket path holds at most 107 bytes on Linux.
        guard config.controlSocket.utf8.count <= 107 else {
            printError("config error: \(config.file): field 'database': the control socket \(config.controlSocket) would be longer than the 107 bytes a Unix socket path may have; use a shorter database path")
            throw ExitCode(1)
        }
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)  // once, here, rather than in every worker at once
        let log = LogWriter(database: database, logger: logger)
        let executable = Self.executablePath()
        let echo = echoLogs
        let supervisor = Supervisor(config: config, log: log, logger: logger) { config in
            ProcessLauncher(
                executable: executable, configPath: config.file, databasePath: config.database,
                gracePeriod: config.supervisor.gracePeriod, logDirectory: config.logDirectory, echo: echo
            )
        }
        try? FileManager.default.removeItem(atPath: config.controlSocket)  // stale: we hold the lock
        var services: [any Service] = [
            ControlServer.application(supervisor: supervisor, socketPath: config.controlSocket, logger: logger),
        ]
        if let port = config.supervisor.metricsPort {
            let metrics = try MinerMetrics(database: database, miners: config.miners.map(\.name))
            services.append(MetricsServer.application(
                metrics: metrics, supervisor: supervisor, host: config.supervisor.metricsHost, port: port, logger: logger
            ))
            logger.notice("Prometheus metrics on http://\(config.supervisor.metricsHost):\(port)/metrics")
        }

        let started = ContinuousClock.now
        logger.notice("supervising \(config.miners.count) miners of \(config.file); database \(config.database), logs in \(config.logDirectory)/")
        // The control socket and metrics stop gracefully, after the workers; the log writer last.
        let controlGroup = ServiceGroup(configuration: .init(services: services, logger: logger))
        let controlTask = Task {
            do { try await controlGroup.run() } catch { logger.error("control socket failed: \(error)") }
        }
        let logTask = Task { try? await log.run() }
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                await Self.reportStartup(supervisor, since: started, logger: logger)
            }
            await supervisor.startAll()
            // Ends when every worker has stopped after a SIGTERM/SIGINT.
            let (stopped, allStopped) = AsyncStream<Void>.makeStream()
            tasks.addTask {
                var stopping: Task<Void, Never>?
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) {
                    if signal == .sighup {
                        do {
                            _ = try await supervisor.reload()
                        } catch {
                            logger.error("reload rejected, the running set is kept: \(error)")
                        }
                    } else if stopping != nil {
                        logger.warning("\(signal) again: killing the workers")
                        await supervisor.forceStopAll()
                    } else {
                        logger.notice("\(signal): stopping every worker (open streams may finish within the grace period)")
                        stopping = Task {
                            await supervisor.stopAll(reason: "supervisor received \(signal)")
                            allStopped.finish()
                        }
                    }
                }
            }
            for await _ in stopped {}
            tasks.cancelAll()
        }
        await controlGroup.triggerGracefulShutdown()
        await controlTask.value
        logTask.cancel()
        await logTask.value
        try? FileManager.default.removeItem(atPath: config.controlSocket)
        withExtendedLifetime(lock) {}
        logger.notice("all workers stopped; supervisor exiting")
    }

    /// Logs how long it took until every worker was up.
    static func reportStartup(_ supervisor: Supervisor, since started: ContinuousClock.Instant, logger: Logger) async {
        while !Task.isCancelled {
            let status = await supervisor.status()
            if !status.miners.isEmpty, status.miners.allSatisfy({ $0.state == .running }) {
                logger.notice("all \(status.miners.count) workers running after \(ContinuousClock.now - started)")
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// This binary, so workers run the same version as their supervisor.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
