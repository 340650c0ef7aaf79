import Admission
import Backends
import Config
import Foundation
import Hummingbird
import LogStore
import Logging
import ServiceLifecycle
import Streaming
import Synchronization
import UnixSignals

/// One miner worker: the HTTP server for its synapses and the log writer.
///
/// Stopping (see `StopOrders`: SIGTERM/SIGINT, the supervisor's `stop`, or the supervisor gone
/// with `exitWithParent`): stop accepting, let in-flight streams end on their own for up to
/// `gracePeriod` (`orphanGracePeriod` when the supervisor is gone), then end the rest as on a
/// timeout (their batches so far stay delivered and logged), flush the log, exit.
public struct Worker: Sendable {
    /// Exit status when `stop_on_forward_exception` stopped the worker.
    public static let forwardExceptionExitCode: Int32 = 3

    public let miner: MinerConfig
    public let databasePath: String
    public let logger: Logger
    public var gracePeriod: Duration = .seconds(20)
    /// Stop when standard input reaches end-of-file: the supervisor holds the other end of a
    /// pipe, and the kernel closes it when the supervisor dies, even by SIGKILL.
    public var exitWithParent = false
    /// Refuse requests with 503 until the supervisor reports the backend's services ready (a
    /// line `ready` on its pipe; `not_ready REASON` closes the gate again).
    public var backendGate = false
    /// How long streams may finish when the supervisor is gone.
    public var orphanGracePeriod: Duration = .milliseconds(500)
    /// False only in benchmarks, to measure what logging every request and batch costs.
    public var recordsRequests = true
    /// Unix seconds now (injected by fuzzing and tests): a request's arrival for its nonce.
    public var wallClock: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    public init(miner: MinerConfig, databasePath: String, logger: Logger) {
        self.miner = miner
        self.databasePath = databasePath
        self.logger = logger
    }

    /// Serves until stopped. Returns the process exit status. `onRunning` receives the bound port.
    ///
    /// The process is one `ServiceGroup`: the stop orders (signals, the supervisor's pipe), the
    /// log writer, the refusal log and the HTTP server. A graceful shutdown stops them in reverse:
    /// the server first (its streams may finish within the grace), the log writer last.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> Int32 {
        // One worker per miner: the journal and its rows have one owner, or a second worker
        // would replay a live one's journal and write false `interrupted` rows.
        let journalPath = RequestJournal.path(database: databasePath, miner: miner.name)
        let owner: PidFileLock
        do {
            owner = try PidFileLock(path: "\(databasePath).owners/\(miner.name).lock")
        } catch let held as PidFileLock.Held {
            throw AlreadyServed(miner: miner.name, holder: held)
        }
        defer { withExtendedLifetime(owner) {} }
        // A worker writes, and reads little: a small page cache holds what its inserts touch.
        let database = try LogDatabase.open(path: databasePath, cacheKiB: Self.pageCacheKiB)
        let applied = try Migrations.migrate(database)
        if !applied.isEmpty { logger.info("database \(databasePath): applied \(applied.joined(separator: ", "))") }
        // What a killed predecessor journaled and never committed goes in first.
        let recovered = try LogWriter.recover(journalPath: journalPath, into: database)
        if recovered.finished + recovered.interrupted > 0 {
            logger.notice("recovered from the journal of the previous worker: \(recovered.finished) finished requests, \(recovered.interrupted) interrupted")
        }
        let log = LogWriter(
            database: database, logger: logger, recordsRequests: recordsRequests,
            journal: recordsRequests ? try RequestJournal(path: journalPath) : nil, source: miner.name
        )
        let refusals = RefusalLog(log: log, logger: logger)
        let backend = try miner.makeCheckedBackend()
        let gate = backendGate ? BackendGate(server: backend.server, logger: logger) : nil
        let orders = StopOrders(
            gracePeriod: gracePeriod, orphanGracePeriod: orphanGracePeriod, supervised: exitWithParent, gate: gate, logger: logger
        )
        let admission = try makeAdmission()
        // What earlier workers of this miner served and could still be replayed.
        let now = wallClock()
        let served = try RecentNonces.read(database, worker: miner.name, since: now - admission.nonceMemory)
        for entry in served { admission.remember(hotkey: entry.hotkey, uuid: entry.uuid, nonce: entry.nonce, now: now) }
        let idleTrim = IdleMemoryTrim()
        let app = makeApplication(
            log: log, refusals: refusals, admission: admission, backend: backend, gate: gate, drain: orders.drain, idleTrim: idleTrim,
            onRunning: onRunning
        ) { error in
            orders.order(.forwardException(error))
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: orders), .init(service: log), .init(service: refusals), .init(service: app), .init(service: idleTrim),
        ]
        if let gate { services.append(.init(service: gate)) }
        if let server = backend.server, let keepAlive = server.config.keepAlive {
            services.append(.init(service: BackendKeepAlive(server: server, value: keepAlive, logger: logger)))
        }
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        // A backstop: streams end at the grace period; anything still hanging is cancelled.
        configuration.maximumGracefulShutdownDuration = gracePeriod + .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        orders.attach(group)
        try await group.run()
        log.flush()  // whatever the last streams recorded while the group wound down
        await backend.shutdown()
        if let error = orders.forwardException {
            logger.critical("stopped after a backend failure (stop_on_forward_exception): \(error)")
            return Self.forwardExceptionExitCode
        }
        return 0
    }

    /// The worker's SQLite page cache: SQLite's default 2,000 KiB fills with the pages its
    /// inserts touch and stays full; 512 KiB holds the tables' and indexes' current pages.
    static let pageCacheKiB = 512

    /// A second worker for a miner that one is already serving.
    public struct AlreadyServed: Error, CustomStringConvertible {
        public var miner: String
        public var holder: PidFileLock.Held
        public var description: String {
            "miner '\(miner)' is already served by \(holder.holder) (it holds \(holder.path)); stop that worker first"
        }
    }

    /// The HTTP application; the log writer runs as one of its services and is flushed after
    /// the server has stopped.
    /// The miner's admission: blacklist, nonces, rate and capacity, by its config.
    func makeAdmission() throws -> Admission {
        try Admission(
            ownHotkey: miner.hotkey, config: miner.admission, maxRequestsPerMinute: miner.limits.maxRequestsPerMinute,
            maxRequestTimeout: miner.maxRequestTimeout
        )
    }

    /// The responder, on this worker's wall clock.
    func makeResponder(
        log: LogWriter, refusals: RefusalLog, admission: Admission, backend: any Backend, gate: BackendGate? = nil, drain: StopSignal,
        onForwardException: @escaping @Sendable (String) -> Void
    ) -> SynapseResponder {
        var responder = SynapseResponder(
            miner: miner, backend: backend, log: log, admission: admission, refusals: refusals, drain: drain,
            onForwardException: onForwardException
        )
        responder.gate = gate
        responder.wallClock = wallClock
        responder.batchBounds = miner.makeBatchBounds(backend: backend)
        return responder
    }

    func makeApplication(
        log: LogWriter,
        refusals: RefusalLog? = nil,
        admission: Admission,
        backend: (any Backend)? = nil,
        gate: BackendGate? = nil,
        drain: StopSignal = StopSignal(),
        idleTrim: IdleMemoryTrim? = nil,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onForwardException: @escaping @Sendable (String) -> Void = { _ in }
    ) -> Application<SynapseResponder> {
        let refusals = refusals ?? RefusalLog(log: log, logger: logger)
        var responder = makeResponder(
            log: log, refusals: refusals, admission: admission, backend: backend ?? miner.makeBackend(), gate: gate, drain: drain,
            onForwardException: onForwardException
        )
        responder.idleTrim = idleTrim
        let connections = ConnectionTable(limits: miner.limits)
        let refuse: ConnectionRefusal = { [responder] reason, status, message, client in
            var record = responder.newRecord(receivedAt: responder.wallClock())
            record.status = status
            record.reason = reason
            record.detail = message
            record.dendriteIP = client
            refusals.add(record)
        }
        let limits = miner.limits
        return Application(
            responder: responder,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [
                    ConnectionGuard(limits: limits, table: connections, refuse: refuse), ClientDisconnectWatcher(),
                ],
                idleTimeout: .milliseconds(Int64(limits.idleTimeout * 1000)),  // bounded by the config
                httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 200)
            )),
            // A backlog the size of the connection table: a flood that overruns a short one makes
            // every new connection, a validator's too, wait for the kernel's 1 s SYN retry.
            configuration: .init(
                address: .hostname(miner.host, port: miner.port), serverName: "miners", backlog: max(256, limits.maxConnections)
            ),
            onServerRunning: { [logger, miner, backend = responder.backend] channel in
                let port = channel.localAddress?.port ?? miner.port
                // Connections wait in the backlog meanwhile; a stop cancels the warm-up. Behind a
                // gate, the warm-up waits for the services instead, and requests get 503 meanwhile.
                if gate == nil, let server = backend.server, server.config.warmup, !(await Self.warmUp(server, logger: logger)) {
                    return  // stopping: never reported ready
                }
                logger.info("miner \(miner.name) (\(miner.hotkey)) serving \(miner.synapses.joined(separator: ", ")) on \(miner.host):\(port)")
                await onRunning(port)
            },
            logger: logger
        )
    }

    /// The longest a warm-up may take: Ollama's own limit for loading a model.
    static let warmUpTimeout = 300.0

    /// `warmup: true`: one small request before the worker reports ready. A failure is
    /// logged, not fatal: the server may come up later, and the miner serves meanwhile. False
    /// when a stop cancelled it.
    static func warmUp(_ server: BackendServer, logger: Logger) async -> Bool {
        let started = ContinuousClock.now
        do {
            try await cancelWhenGracefulShutdown { try await server.warmUp(timeout: warmUpTimeout) }
            logger.info("backend warm-up took \(started.duration(to: .now))")
        } catch is CancellationError {
            logger.notice("backend warm-up cancelled: the worker is stopping")
            return false
        } catch {
            if Task.isCancelled || Task.isShuttingDownGracefully {
                logger.notice("backend warm-up cancelled: the worker is stopping")
                return false
            }
            logger.warning("backend warm-up failed after \(started.duration(to: .now)): \(error)")
        }
        return true
    }
}
