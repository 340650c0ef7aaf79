import Logging
import ServiceLifecycle

/// The set of miners as a swift-service-lifecycle `Service`: starts every worker, reloads on
/// its reload signal, and on the group's graceful shutdown (or the first stop signal) stops
/// every worker gracefully; a second stop signal kills them. It is the last service of the
/// supervisor's group, so the first to be shut down: the control socket, the metrics and the
/// log writer stay up until every worker has stopped.
///
/// Reloads run in a task of their own, so a stop signal during a reload starts the stop at
/// once; `Supervisor` then lets the reload start nothing more.
public struct SupervisorService: Service {
    let supervisor: Supervisor
    let logger: Logger
    let stopSignals: any AsyncSequence<String, Never> & Sendable
    let reloadSignals: any AsyncSequence<String, Never> & Sendable
    let started: ContinuousClock.Instant
    /// systemd's `NOTIFY_SOCKET` (`Type=notify`): `READY=1` once every worker runs,
    /// `STOPPING=1` when the stop starts.
    let notify: SystemdNotify?

    /// - Parameters:
    ///   - stopSignals: SIGTERM and SIGINT, by name. The group's own graceful shutdown starts
    ///     the stop as well; these are counted so that a second one kills the workers.
    ///   - reloadSignals: SIGHUP.
    ///   - notify: where systemd hears of readiness and of the stop; nil outside systemd.
    public init(
        supervisor: Supervisor, logger: Logger,
        stopSignals: some AsyncSequence<String, Never> & Sendable, reloadSignals: some AsyncSequence<String, Never> & Sendable,
        started: ContinuousClock.Instant = .now, notify: SystemdNotify? = nil
    ) {
        self.supervisor = supervisor
        self.logger = logger
        self.stopSignals = stopSignals
        self.reloadSignals = reloadSignals
        self.started = started
        self.notify = notify
    }

    public func run() async {
        let (orders, order) = AsyncStream<String>.makeStream()
        await withDiscardingTaskGroup { tasks in
            tasks.addTask { [stopSignals, supervisor, logger] in
                var seen = 0
                for await signal in stopSignals {
                    seen += 1
                    if seen == 1 {
                        logger.notice("\(signal): stopping every worker (open streams may finish within the grace period)")
                        order.yield("supervisor received \(signal)")
                    } else {
                        logger.warning("\(signal) again: killing the workers")
                        await supervisor.forceStopAll()
                    }
                }
            }
            tasks.addTask {
                // Throws when cancelled: then the group is going away without a graceful stop.
                guard (try? await gracefulShutdown()) != nil else { return }
                order.yield("graceful shutdown")
            }
            tasks.addTask { [reloadSignals, supervisor, logger] in
                for await signal in reloadSignals {
                    logger.notice("\(signal): reloading the config")
                    do {
                        _ = try await supervisor.reload()
                    } catch {
                        logger.error("reload rejected, the running set is kept: \(error)")
                    }
                }
            }
            tasks.addTask { [supervisor, logger, started, notify] in
                await supervisor.startAll()
                await Self.reportStartup(supervisor, since: started, logger: logger, notify: notify)
            }
            var reason = "the supervisor's task was cancelled"
            for await first in orders {
                reason = first
                break
            }
            notify?.send("STOPPING=1\nSTATUS=stopping: \(reason)")
            await supervisor.stopAll(reason: reason)
            tasks.cancelAll()
        }
        order.finish()
    }

    /// Logs how long it took until every worker was up, and tells systemd it is ready then.
    static func reportStartup(
        _ supervisor: Supervisor, since started: ContinuousClock.Instant, logger: Logger, notify: SystemdNotify? = nil
    ) async {
        while !Task.isCancelled {
            let status = await supervisor.status()
            if !status.miners.isEmpty, status.miners.allSatisfy({ $0.state == .running }) {
                logger.notice("all \(status.miners.count) workers running after \(ContinuousClock.now - started)")
                let healthy = status.services.filter { $0.state == .running }.count
                notify?.send("READY=1\nSTATUS=all \(status.miners.count) workers running, \(healthy) services healthy")
                return
            }
            if await supervisor.isStopping { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
