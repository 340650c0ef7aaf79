import Config
import Foundation
import GRDB
import LogStore
import Logging
import ServiceLifecycle

/// Watches for what costs rewards and tells the config's webhooks (`alerts:`): crash loops,
/// unhealthy services, deregistered hotkeys, miners without validator requests, lost log rows,
/// failing chain serves, full disks. A `Service` of the supervisor's group: every
/// `check_every` it reads the supervisor's status, the log and the disks, posts what changed
/// (`AlertBook`), and follows the config as reloads change it. Each webhook posts from a task
/// and a bounded queue of its own (`WebhookOutbox`), so neither a slow webhook nor a failing
/// one ever holds up a check or the supervisor.
public struct AlertMonitor: Service {
    let supervisor: Supervisor
    let database: DatabaseQueue
    let logger: Logger
    let clock: SupervisorClock
    let sender: WebhookSender
    let host: String
    /// How long queued messages may still be posted once the supervisor stops.
    let drainTime: Double

    public init(
        supervisor: Supervisor, database: DatabaseQueue, logger: Logger, clock: SupervisorClock = .system,
        sender: WebhookSender = WebhookSender(), host: String = AlertMonitor.hostName(), drainTime: Double = 5
    ) {
        self.supervisor = supervisor
        self.database = database
        self.logger = logger
        self.clock = clock
        self.sender = sender
        self.host = host
        self.drainTime = drainTime
    }

    public func run() async {
        let (added, announce) = AsyncStream<WebhookOutbox>.makeStream()
        let all = OutboxList()
        // Children return true only for the drain deadline.
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await cancelWhenGracefulShutdown { await watch(announce: announce) }
                return false
            }
            for await outbox in added {
                all.append(outbox)
                group.addTask { [sender, logger] in
                    await outbox.run(sender: sender, logger: logger)
                    return false
                }
            }
            // The watch is over and every queue finished: what is queued may go, for a while.
            guard !all.done else { return }
            group.addTask { [clock, drainTime] in
                try? await clock.sleep(drainTime)
                return true
            }
            while let deadline = await group.next() {
                if deadline || all.done { break }
            }
            group.cancelAll()
        }
    }

    /// The checks, until cancelled; announces each webhook's queue as it is made.
    private func watch(announce: AsyncStream<WebhookOutbox>.Continuation) async {
        var outboxes: [WebhookOutbox] = []
        var book = AlertBook(repeatEvery: nil, host: host)
        var conditions = AlertConditions(startedAt: clock.now())
        var readFailed = false
        var writeFailed = false
        do {
            for record in try AlertRecord.firing(database) {
                guard let kind = AlertKind(rawValue: record.kind) else { continue }
                book.restore(Alert(kind: kind, subject: record.subject, noun: record.noun, detail: record.detail), since: record.since, lastSent: record.at)
            }
        } catch {
            logger.error("alerts: cannot read the alerts a previous run left firing: \(error)")
        }
        while !Task.isCancelled {
            let config = await supervisor.config
            let alerts = config.alerts
            // A reload that changed the webhooks or their rate: new queues (the old ones drain).
            if outboxes.map(\.webhook) != alerts.webhooks || outboxes.first.map({ $0.ratePerHour != alerts.ratePerHour }) == true {
                for outbox in outboxes { outbox.finish() }
                outboxes = alerts.webhooks.map { WebhookOutbox(webhook: $0, ratePerHour: alerts.ratePerHour) }
                for outbox in outboxes { announce.yield(outbox) }
            }
            // A stopping supervisor's workers and services going down is no news.
            if alerts.isEnabled, await !supervisor.isStopping {
                let now = clock.now()
                book.repeatEvery = alerts.repeatEvery
                var facts: AlertFacts?
                do {
                    facts = try await AlertFacts.read(
                        database, requestsSince: alerts.noRequests.map { now - $0 - 1 }, lossesSince: conditions.lossesSince(now)
                    )
                    readFailed = false
                } catch {
                    if !readFailed { logger.error("alerts: cannot read the log database: \(error)") }
                    readFailed = true
                }
                let databaseDirectory = (config.database as NSString).deletingLastPathComponent
                let directories = [databaseDirectory.isEmpty ? "." : databaseDirectory, config.logDirectory]
                let found = conditions.evaluate(
                    status: await supervisor.status(), config: alerts, facts: facts,
                    disks: directories.compactMap(DiskSpace.of), now: now
                )
                // What the log says is kept as it was while the log cannot be read.
                let kinds: Set<AlertKind> = facts != nil ? Set(AlertKind.conditions) : [.crashLoop, .serviceUnhealthy, .diskFull]
                let messages = book.update(found, now: now, kinds: kinds)
                for message in messages {
                    logger.notice("alert: \(message.text)")
                    for outbox in outboxes { outbox.offer(message) }
                }
                writeFailed = await remember(messages, failedBefore: writeFailed)
                for outbox in outboxes { outbox.offerSummary(now: now, host: host) }
            } else if !alerts.isEnabled, !book.firing.isEmpty {
                // Alerts turned off: what a previous run left firing is over, as far as `status` goes.
                writeFailed = await remember(book.update([], now: clock.now()), failedBefore: writeFailed)
            }
            guard (try? await clock.sleep(alerts.checkEvery)) != nil else { break }
        }
        for outbox in outboxes { outbox.finish() }
        announce.finish()
    }

    /// Writes the messages to the `alerts` table, the history `miners status` and the next run
    /// read; returns whether that failed (logged once until it works again).
    private func remember(_ messages: [AlertMessage], failedBefore: Bool) async -> Bool {
        guard !messages.isEmpty else { return failedBefore }
        do {
            try await AlertRecord.insert(messages.map(Self.record), into: database)
            return false
        } catch {
            if !failedBefore { logger.error("alerts: cannot write to the log database: \(error)") }
            return true
        }
    }

    static func record(_ message: AlertMessage) -> AlertRecord {
        AlertRecord(
            at: message.at, kind: message.alert.kind.rawValue, subject: message.alert.subject, noun: message.alert.noun,
            state: message.state.rawValue, since: message.since, detail: message.alert.detail
        )
    }

    public static func hostName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty ? "localhost" : String(name.prefix(255))
    }
}
