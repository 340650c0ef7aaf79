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
/// Stopping (SIGTERM/SIGINT, or the supervisor gone with `exitWithParent`): stop accepting,
/// let in-flight streams end on their own for up to `gracePeriod`, then end the rest as on a
/// timeout (their batches so far stay delivered and logged), flush the log, exit. A second
/// signal ends the streams at once.
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
    /// How long streams may finish when the supervisor is gone.
    public var orphanGracePeriod: Duration = .milliseconds(500)
    /// False only in benchmarks, to measure what logging every request and batch costs.
    public var recordsRequests = true

    public init(miner: MinerConfig, databasePath: String, logger: Logger) {
        self.miner = miner
        self.databasePath = databasePath
        self.logger = logger
    }

    /// Serves until stopped. Returns the process exit status. `onRunning` receives the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> Int32 {
        let database = try LogDatabase.open(path: databasePath)
        let applied = try Migrations.migrate(database)
        if !applied.isEmpty { logger.info("database \(databasePath): applied \(applied.joined(separator: ", "))") }
        // What a killed predecessor journaled and never committed goes in first.
        let journalPath = RequestJournal.path(database: databasePath, miner: miner.name)
        let recovered = try LogWriter.recover(journalPath: journalPath, into: database)
        if recovered.finished + recovered.interrupted > 0 {
            logger.notice("recovered from the journal of the previous worker: \(recovered.finished) finished requests, \(recovered.interrupted) interrupted")
        }
        let log = LogWriter(
            database: database, logger: logger, recordsRequests: recordsRequests,
            journal: recordsRequests ? try RequestJournal(path: journalPath) : nil, source: miner.name
        )
        let drain = StopSignal()
        let forwardException = Mutex<String?>(nil)
        let stopper = Mutex<Stopper?>(nil)
        let admission = try Admission(ownHotkey: miner.hotkey, config: miner.admission, maxRequestsPerMinute: miner.limits.maxRequestsPerMinute)
        let backend = try miner.backend.makeCheckedBackend()
        let app = makeApplication(log: log, admission: admission, backend: backend, drain: drain, onRunning: onRunning) { error in
            forwardException.withLock { $0 = error }
            let stop = stopper.withLock { $0 }
            Task { await stop?.begin("backend failure with stop_on_forward_exception", grace: gracePeriod) }
        }
        var configuration = ServiceGroupConfiguration(services: [app], logger: logger)
        // A backstop: streams end at the grace period; anything still hanging is cancelled.
        configuration.maximumGracefulShutdownDuration = gracePeriod + .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        let stop = Stopper(group: group, drain: drain, logger: logger)
        stopper.withLock { $0 = stop }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    await stop.begin("received \(signal)", grace: gracePeriod)
                }
            }
            if exitWithParent {
                let parentGone = ParentWatch.start()
                tasks.addTask {
                    await parentGone.wait()
                    if parentGone.isFired { await stop.begin("the supervisor is gone", grace: orphanGracePeriod) }
                }
            }
            try await tasks.next()  // the service group has ended
            tasks.cancelAll()
        }
        log.flush()  // whatever the last streams recorded while the group wound down
        await backend.shutdown()
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
        admission: Admission,
        backend: (any Backend)? = nil,
        drain: StopSignal = StopSignal(),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onForwardException: @escaping @Sendable (String) -> Void = { _ in }
    ) -> Application<SynapseResponder> {
        let responder = SynapseResponder(
            miner: miner, backend: backend ?? miner.backend.makeBackend(), log: log, admission: admission, drain: drain,
            onForwardException: onForwardException
        )
        let connections = ConnectionCount(limit: miner.limits.maxConnections)
        let refuse: ConnectionRefusal = { [responder] reason, status, message, client in
            var record = responder.newRecord(receivedAt: Date().timeIntervalSince1970)
            record.status = status
            record.reason = reason
            record.detail = message
            record.dendriteIP = client
            log.record(record)
        }
        let limits = miner.limits
        return Application(
            responder: responder,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [
                    ConnectionGuard(limits: limits, count: connections, refuse: refuse), ClientDisconnectWatcher(),
                ],
                idleTimeout: .nanoseconds(Int64(limits.idleTimeout * 1e9)),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 200)
            )),
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

/// Starts the graceful stop once, and ends the remaining streams when the grace is over or at
/// the second request.
actor Stopper {
    private let group: ServiceGroup
    private let drain: StopSignal
    private let logger: Logger
    private var started = false

    init(group: ServiceGroup, drain: StopSignal, logger: Logger) {
        self.group = group
        self.drain = drain
        self.logger = logger
    }

    func begin(_ reason: String, grace: Duration) async {
        guard !started else {
            logger.warning("\(reason) again: ending the open streams now")
            drain.fire()
            return
        }
        started = true
        logger.notice("stopping (\(reason)): no new requests; open streams may finish for up to \(grace)")
        Task { [drain] in
            try? await Task.sleep(for: grace)
            drain.fire()
        }
        await group.triggerGracefulShutdown()
    }
}

/// Watches standard input on a thread of its own (a blocking read must not hold one of the
/// few cooperative threads) and fires the returned signal at end-of-file.
enum ParentWatch {
    static func start() -> StopSignal {
        let gone = StopSignal()
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(STDIN_FILENO, &byte, 1)
                if count == 0 || (count < 0 && errno != EINTR) { break }
            }
            gone.fire()
        }
        thread.name = "parent-watch"
        thread.start()
        return gone
    }
}
