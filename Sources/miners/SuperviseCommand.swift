import ArgumentParser
import Config
import Fleet
import Foundation
import LogStore
import Logging
import ServiceLifecycle
import Supervisor
import UnixSignals

struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Run every service and miner of a config, each as its own process, until SIGINT or SIGTERM.",
        discussion: """
            Checks the config (and that every port is free) before anything starts, then starts \
            one `miners worker` per miner and restarts any that exits on its own, with backoff \
            (restart: in the config). Each worker's output goes to LOG_DIR/NAME.log.

            Signals: SIGINT/SIGTERM stop every worker gracefully (open streams may finish for \
            supervisor.grace_period seconds) and exit 0; a second one kills them. SIGHUP reloads \
            the config (as `miners reload`); a stop signal during a reload is not delayed by it. \
            Workers stop by themselves within a second if the supervisor is killed.

            Services: model servers listed under services: start first (one after another on a \
            shared GPU, each when the one before is healthy), are health-checked over HTTP \
            (health.http, and health.model that GET /v1/models must list) and restarted after \
            `failures` failed checks in a row, as on an exit. A miner whose services are not ready \
            answers every request at once with 503 backend_not_ready. A service's server never \
            outlives the supervisor, even one killed by SIGKILL. max_rss restarts a service or a \
            worker gracefully above that resident memory.

            Crashes: a crash-looping miner (restart.max_restarts within restart.window) is tried \
            again after restart.crash_loop_cooldown. Failed writes to the log files or the \
            terminal (a full disk, a closed or paused terminal) are counted in `miners status`, \
            never fatal.

            Metrics: with supervisor.metrics_port set, Prometheus metrics per miner (requests by \
            outcome, rejections, batches, items, time to first batch, restarts) at \
            http://metrics_host:metrics_port/metrics, counted from the log since the supervisor started.

            Alerts: with alerts: in the config, webhooks (Discord, Telegram, Slack, JSON) are told \
            of crash loops, unhealthy services, deregistered hotkeys, miners without validator \
            requests, lost log rows, failing chain serves and full disks; once per condition, \
            repeated at most every alerts.repeat, and when resolved (`miners alerts test`).

            Control: `miners status`, `miners reload`, `miners restart|stop|start NAME` (a miner \
            or a service), over a Unix socket next to the database.

            systemd: with NOTIFY_SOCKET set (Type=notify, see `miners install systemd`), READY=1 \
            is sent once every miner's worker runs, STOPPING=1 when the stop begins.
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    @Flag(name: .long, help: "Also print every worker's log lines on standard error, prefixed with the miner's name (lines a slow or closed terminal does not take are dropped and counted in `miners status`, never waited for).")
    var echoLogs = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Run only this fleet host's part: the miners and services with this fleet_host and those without one (default: this machine's host name when the config names hosts, else everything).")
    var host: String?

    func run() async throws {
        // A write to a worker's pipe, or to a closed terminal, fails with EPIPE rather than
        // killing the supervisor.
        signal(SIGPIPE, SIG_IGN)
        StandardDescriptors.reserve()
        let output = SupervisorOutput.shared
        // Every log line goes through the standard-error queue: a paused terminal never holds
        // up a task of the supervisor.
        LoggingSystem.bootstrap { output.logHandler(label: $0) }
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
            config = try ConfigCheck.run(path: self.config, host: try host ?? MinersConfig.load(path: self.config).defaultHost)
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
        // The supervisor's own lines also go to LOG_DIR/supervisor.log, rotated as the workers' are.
        let ownLog = LogFile(path: "\(config.logDirectory)/\(SupervisorOutput.ownLogName).log", rotation: config.supervisor.logRotation)
        if let problem = ownLog.openError { logger.error("the supervisor's own log lines are not written to a file: \(problem)") }
        output.writeOwnLines(to: ownLog)
        let executable = Self.executablePath()
        let echo = echoLogs
        let supervisor = Supervisor(config: config, log: log, logger: logger, ownLines: output.ownLines) { config in
            ProcessLauncher(
                executable: executable, configPath: config.file, databasePath: config.database,
                gracePeriod: config.supervisor.gracePeriod, logDirectory: config.logDirectory, echo: echo,
                logRotation: config.supervisor.logRotation, output: output, logger: logger
            )
        }
        try? FileManager.default.removeItem(atPath: config.controlSocket)  // stale: we hold the lock
        // One group, shut down in reverse order: the miners first (every worker gets its grace
        // period), then metrics and the control socket (so `miners status` answers while the
        // workers stop), the log writer last. SIGTERM/SIGINT start that graceful shutdown;
        // the miners' service counts them, and kills the workers at the second.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: log),
            .init(
                service: ControlServer.application(supervisor: supervisor, socketPath: config.controlSocket, logger: logger),
                failureTerminationBehavior: .gracefullyShutdownGroup
            ),
        ]
        // Rollups and deletion on a connection of its own, so the log writer never waits long.
        // MINERS_RETENTION_DELAY_SECONDS shortens the wait before the first round (tests only).
        services.append(.init(service: RetentionService(
            database: try LogDatabase.open(path: config.database), retention: { await supervisor.config.retention }, logger: logger,
            firstDelay: ProcessInfo.processInfo.environment["MINERS_RETENTION_DELAY_SECONDS"].flatMap(Double.init).map { min(max($0, 0), 3600) } ?? 60
        )))
        // fleet: the log's new rows copied to the fleet's PostgreSQL, on a connection of its own
        // (nothing on the request path waits for it; a failure is retried, never fatal),
        // following the fleet: of each reload.
        let databasePath = config.database
        services.append(.init(
            service: FleetReplication(
                fleet: { await supervisor.config.fleet }, openDatabase: { try LogDatabase.open(path: databasePath) }, logger: logger
            ),
            successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore
        ))
        if let port = config.supervisor.metricsPort {
            let metrics = try MinerMetrics(database: database, miners: config.miners.map(\.name), services: config.services.map(\.name))
            services.append(.init(
                service: MetricsServer.application(
                    metrics: metrics, supervisor: supervisor, host: config.supervisor.metricsHost, port: port, logger: logger
                ),
                failureTerminationBehavior: .gracefullyShutdownGroup
            ))
            logger.notice("Prometheus metrics on http://\(config.supervisor.metricsHost):\(port)/metrics")
        }
        // Webhook alerts (alerts:, followed across reloads); before the miners' service, so it is
        // shut down after them and their stop is not reported.
        services.append(.init(
            service: AlertMonitor(supervisor: supervisor, database: database, logger: logger),
            successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore
        ))
        let started = ContinuousClock.now
        // Under systemd (Type=notify): READY=1 once every worker runs. Taken out of the
        // environment, so no worker or service inherits it.
        let notify = SystemdNotify.fromEnvironment(logger: logger)
        // Registered before anything starts, so no signal is missed.
        let stopSignals = await UnixSignalsSequence(trapping: .sigterm, .sigint).map { "\($0)" }
        let reloadSignals = await UnixSignalsSequence(trapping: .sighup).map { "\($0)" }
        services.append(.init(
            service: SupervisorService(
                supervisor: supervisor, logger: logger, stopSignals: stopSignals, reloadSignals: reloadSignals, started: started,
                notify: notify
            ),
            successTerminationBehavior: .gracefullyShutdownGroup,
            failureTerminationBehavior: .gracefullyShutdownGroup
        ))
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.gracefulShutdownSignals = [.sigterm, .sigint]

        logger.notice("supervising \(config.services.count) services and \(config.miners.count) miners of \(config.file)\(config.selectedHost.map { " (host \($0))" } ?? ""); database \(config.database), logs in \(config.logDirectory)/")
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            failure = error
            logger.error("supervisor failed: \(error)")
        }
        try? FileManager.default.removeItem(atPath: config.controlSocket)
        withExtendedLifetime(lock) {}
        logger.notice(failure == nil ? "all workers stopped; supervisor exiting" : "all workers stopped; supervisor exiting after a failure")
        // The last lines out, unless the terminal is not taking them.
        _ = await output.standardError.waitUntilIdle(timeout: 1)
        _ = await output.logFiles.waitUntilIdle(timeout: 1)
        if failure != nil { throw ExitCode(1) }
    }

    /// This binary, so workers run the same version as their supervisor.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

func printError(_ message: String) {
    // write(2): a closed or full standard error must not trap.
    _ = StandardErrorTarget.shared.write(Array((message + "\n").utf8))
}
