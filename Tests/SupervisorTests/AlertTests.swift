import Config
import Foundation
import GRDB
import LogStore
import Logging
import Synchronization
import Testing
@testable import Supervisor

/// A webhook transport that records each POST and answers from a script (then 200).
final class ScriptedTransport: Sendable {
    enum Answer: Sendable {
        case status(Int, retryAfter: String? = nil)
        case error(String)
    }

    private let state: Mutex<(answers: [Answer], posts: [(url: String, body: [UInt8])], sleeps: [Double])>

    init(_ answers: [Answer] = []) {
        state = Mutex((answers, [], []))
    }

    var posts: [(url: String, body: [String: Any])] {
        state.withLock { $0.posts }.map { ($0.url, (try? JSONSerialization.jsonObject(with: Data($0.body))) as? [String: Any] ?? [:]) }
    }
    var sleeps: [Double] { state.withLock { $0.sleeps } }
    var bodies: [[String: Any]] { posts.map(\.body) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var sender: WebhookSender {
        WebhookSender(
            transport: { [self] url, body, _ in
                let answer = state.withLock { state -> Answer in
                    state.posts.append((url, body))
                    return state.answers.isEmpty ? .status(200) : state.answers.removeFirst()
                }
                switch answer {
                case .status(let code, let retryAfter): return (code, retryAfter)
                case .error(let text): throw Failure(description: text)
                }
            },
            sleep: { [self] seconds in state.withLock { $0.sleeps.append(seconds) } }
        )
    }
}

@Suite struct AlertTests {
    let crash = Alert(kind: .crashLoop, subject: "a", noun: "miner", detail: "restarted too often")
    let disk = Alert(kind: .diskFull, subject: "/var", noun: "file system of", detail: "1% free")
    let webhook = WebhookConfig(kind: .json, variable: "URL", url: Secret("https://hooks.example/secret-path/xyz?token=t0k3n"))

    // MARK: dedup, repeat, resolve

    @Test func aConditionIsPostedOnceRepeatedAtMostEveryRepeatAndResolved() {
        var book = AlertBook(repeatEvery: 3600, host: "h")
        let first = book.update([crash], now: 1000)
        #expect(first.map(\.state) == [.firing] && first[0].since == 1000 && !first[0].repeated)
        #expect(book.update([crash], now: 1015).isEmpty)
        // The detail changes, the condition does not: no message.
        var later = crash
        later.detail = "restarted too often (next try in 1m)"
        #expect(book.update([later, later], now: 4599).isEmpty)
        let again = book.update([later, disk], now: 4600)
        #expect(again.map(\.state) == [.firing, .firing])
        #expect(again[0].repeated && again[0].since == 1000 && again[0].alert.detail == later.detail)
        #expect(again[1].alert.kind == .diskFull && !again[1].repeated)
        #expect(again[0].text == "[STILL FIRING for 1h00m] crash-looping: miner 'a' on h: restarted too often (next try in 1m)")
        #expect(book.update([later, disk], now: 4700).isEmpty)
        let resolved = book.update([disk], now: 5000)
        #expect(resolved.map(\.state) == [.resolved] && resolved[0].alert.subject == "a")
        #expect(resolved[0].text == "[RESOLVED after 1h06m] crash-looping: miner 'a' on h")
        #expect(book.firing.keys.map(\.kind) == [.diskFull])
    }

    @Test func withoutRepeatAConditionIsPostedOnlyOnceAndAKindNotLookedAtKeepsItsState() {
        var book = AlertBook(repeatEvery: nil, host: "h")
        let lost = Alert(kind: .logRowsLost, subject: "a", noun: "miner", detail: "3 rows")
        #expect(book.update([crash, lost], now: 0).count == 2)
        #expect(book.update([crash, lost], now: 1e9).isEmpty)
        // The log could not be read: its kinds are kept as they were.
        #expect(book.update([crash], now: 1e9 + 15, kinds: [.crashLoop, .diskFull]).isEmpty)
        #expect(book.firing.count == 2)
        #expect(book.update([crash], now: 1e9 + 30).map(\.alert.kind) == [.logRowsLost])
    }

    @Test func anAlertLeftFiringByAPreviousRunIsNotPostedAgainButResolved() {
        var book = AlertBook(repeatEvery: 3600, host: "h")
        book.restore(disk, since: 100, lastSent: 200)
        book.restore(crash, since: 150, lastSent: 150)
        #expect(book.update([disk], now: 300).map { "\($0.state) \($0.alert.kind.rawValue) \($0.since)" } == ["resolved crash_loop 150.0"])
        #expect(book.update([disk], now: 3800).map { "\($0.state) \($0.alert.kind.rawValue) \($0.repeated)" } == ["firing disk_full true"])
    }

    @Test func messageTexts() {
        let firing = AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "gpu-1")
        #expect(firing.text == "[FIRING] crash-looping: miner 'a' on gpu-1: restarted too often")
        var test = firing
        test.test = true
        #expect(test.text == "[TEST] [FIRING] crash-looping: miner 'a' on gpu-1: restarted too often")
        var long = crash
        long.detail = String(repeating: "x", count: 5000)
        let cut = AlertMessage(alert: long, state: .firing, since: 0, at: 0, host: "h").text
        #expect(cut.count == AlertMessage.maxCharacters && cut.hasSuffix("…"))
        #expect(AlertMessage.duration(59) == "59s" && AlertMessage.duration(3599) == "59m" && AlertMessage.duration(90_000) == "1d01h")
    }

    // MARK: rate limit

    @Test func overTheRateLimitMessagesAreCountedAndSummarisedOnceThereIsRoom() throws {
        var limit = RateLimit(perHour: 3)
        let admitted = [0.0, 10, 20, 30, 40].map { limit.admit($0 < 30 ? .crashLoop : .diskFull, now: $0) } + [limit.admit(.crashLoop, now: 50)]
        #expect(admitted == [true, true, true, false, false, false])
        #expect(limit.held == [.diskFull: 2, .crashLoop: 1])
        let early = limit.summary(now: 3599, host: "h")
        #expect(early == nil)
        let held = limit.summary(now: 3600, host: "h")
        let summary = try #require(held)
        #expect(summary.alert.kind == .rateLimited && summary.since == 30)
        #expect(summary.text == "[FIRING] alerts held back by the rate limit: on h: 3 messages were not sent (at most 3 an hour to this webhook): crash_loop ×1, disk_full ×2")
        let none = limit.summary(now: 3601, host: "h")
        #expect(limit.held.isEmpty && none == nil)
        // The summary took the slot that freed; the next frees at 3610.
        let later = [limit.admit(.crashLoop, now: 3605), limit.admit(.crashLoop, now: 3610)]
        #expect(later == [false, true])
    }

    // MARK: formats

    @Test func eachFormat() throws {
        let message = AlertMessage(alert: crash, state: .resolved, since: 100, at: 1_700_000_000.7, host: "h")
        func body(_ kind: WebhookConfig.Kind, chat: String? = nil) -> String {
            String(decoding: WebhookPayload.body(message, for: WebhookConfig(kind: kind, variable: "V", url: Secret("http://x/"), chatID: chat)), as: UTF8.self)
        }
        let text = "[RESOLVED after 472222h13m] crash-looping: miner 'a' on h".replacingOccurrences(of: "472222h13m", with: AlertMessage.duration(1_700_000_000.7 - 100))
        #expect(body(.discord) == #"{"content":"\#(text)"}"#)
        #expect(body(.slack) == #"{"text":"\#(text)"}"#)
        #expect(body(.telegram, chat: "-100123") == #"{"chat_id":"-100123","text":"\#(text)"}"#)
        #expect(body(.json) == #"{"alert":"crash_loop","at":1700000000,"host":"h","message":"\#(text)","state":"resolved","subject":"a"}"#)
        // Quotes, newlines and slashes in a detail stay JSON.
        var odd = crash
        odd.detail = "a \"quoted\"\nline / path"
        let json = WebhookPayload.body(AlertMessage(alert: odd, state: .firing, since: 0, at: 0, host: "h"), for: webhook)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect((decoded["message"] as? String)?.hasSuffix("a \"quoted\"\nline / path") == true)
    }

    // MARK: delivery

    @Test func failuresAreRetriedWithBackoffAndA429WaitsItsRetryAfter() async {
        let transport = ScriptedTransport([.status(500), .error("connection reset"), .status(200)])
        let message = AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "h")
        #expect(await transport.sender.send(message, to: webhook) == .delivered(status: 200, tries: 3))
        #expect(transport.sleeps == [1, 2])

        let limited = ScriptedTransport([.status(429, retryAfter: "7"), .status(429, retryAfter: "100000"), .status(204)])
        #expect(await limited.sender.send(message, to: webhook) == .delivered(status: 204, tries: 3))
        #expect(limited.sleeps == [7, 60])
    }

    @Test func aClientErrorIsNotRetriedAndAnErrorNeverShowsTheURL() async {
        let message = AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "h")
        let refused = ScriptedTransport([.status(404)])
        #expect(await refused.sender.send(message, to: webhook) == .failed("HTTP 404", tries: 1))
        #expect(refused.posts.count == 1)
        let moved = ScriptedTransport([.status(301)])
        #expect(await moved.sender.send(message, to: webhook) == .failed("HTTP 301", tries: 1))

        let leaky = ScriptedTransport(Array(repeating: .error("cannot reach https://hooks.example/secret-path/xyz?token=t0k3n (/secret-path/xyz)"), count: 3))
        guard case .failed(let problem, let tries) = await leaky.sender.send(message, to: webhook) else {
            Issue.record("delivered")
            return
        }
        #expect(tries == 3 && leaky.posts.count == 3 && leaky.posts.allSatisfy { $0.url == webhook.url.value })
        #expect(!problem.contains("secret-path") && !problem.contains("t0k3n"), "\(problem)")
        #expect(problem == "cannot reach <secret> (<secret>)")
    }

    @Test func aFullQueueDropsTheOldestAndTheRateLimitAppliesOnTheWayIn() async {
        let outbox = WebhookOutbox(webhook: webhook, ratePerHour: 100, capacity: 2)
        for index in 0..<5 {
            outbox.offer(AlertMessage(alert: Alert(kind: .diskFull, subject: "d\(index)", noun: "", detail: ""), state: .firing, since: 0, at: 0, host: "h"))
        }
        outbox.finish()
        let transport = ScriptedTransport()
        await outbox.run(sender: transport.sender, logger: Logger(label: "test"))
        #expect(transport.bodies.map { $0["subject"] as? String } == ["d3", "d4"])
        #expect(outbox.counts == WebhookOutbox.Counts(delivered: 2, failed: 0, dropped: 3, done: true))

        let limited = WebhookOutbox(webhook: webhook, ratePerHour: 1)
        limited.offer(AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "h"))
        limited.offer(AlertMessage(alert: disk, state: .firing, since: 0, at: 10, host: "h"))
        limited.offerSummary(now: 20, host: "h")
        limited.offerSummary(now: 3600, host: "h")
        limited.finish()
        let second = ScriptedTransport([.status(500), .status(500), .status(500)])
        await limited.run(sender: second.sender, logger: Logger(label: "test"))
        #expect(second.bodies.map { $0["alert"] as? String } == ["crash_loop", "crash_loop", "crash_loop", "rate_limited"])
        #expect(limited.counts.failed == 1 && limited.counts.delivered == 1)
    }

    // MARK: conditions

    func status(miners: [MinerStatus], services: [ServiceStatus] = []) -> SupervisorStatus {
        var status = SupervisorStatus(pid: 1, config: "c.yaml", database: "db", startedAt: 0, miners: miners)
        status.services = services
        return status
    }

    func miner(_ name: String, _ state: MinerState, next: Double? = nil) -> MinerStatus {
        MinerStatus(name: name, hotkey: "5F\(name)", host: "127.0.0.1", port: 1, backend: "mock", batchSize: 4, state: state,
                    lastExit: state == .crashLooping ? "exit 1" : nil, nextStartAt: next)
    }

    @Test func crashLoopsAndUnhealthyServicesComeFromTheStatus() {
        let services = [
            ServiceStatus(name: "ok", host: "h", port: 1, program: "p", gpus: [], state: .running),
            ServiceStatus(name: "sick", host: "h", port: 2, program: "p", gpus: [], state: .unhealthy,
                          lastCheck: .init(at: 0, healthy: false, answer: "HTTP 503", seconds: 0.1), dependents: ["a", "b"]),
            ServiceStatus(name: "never", host: "h", port: 3, program: "p", gpus: [], state: .starting, note: "never healthy within start_period 60s"),
            ServiceStatus(name: "fresh", host: "h", port: 4, program: "p", gpus: [], state: .starting),
            ServiceStatus(name: "waits", host: "h", port: 5, program: "p", gpus: [], state: .waiting, note: "'ok' to be healthy"),
            ServiceStatus(name: "loops", host: "h", port: 6, program: "p", gpus: [], state: .crashLooping, note: "never healthy", nextStartAt: 400),
        ]
        let alerts = AlertConditions.ofProcesses(status(miners: [miner("a", .crashLooping, next: 250), miner("b", .backingOff)], services: services), now: 100)
        #expect(alerts.map { "\($0.kind.rawValue) \($0.subject)" } == ["crash_loop a", "service_unhealthy sick", "service_unhealthy never", "crash_loop loops"])
        #expect(alerts[0].detail == "restarted too often, stopped until its cooldown ends (next try in 2m); last exit: exit 1")
        #expect(alerts[1].detail == "its health check fails: HTTP 503; miners refusing with 503 meanwhile: a, b")
        #expect(alerts[2].detail == "never healthy within start_period 60s")
        #expect(alerts[3].noun == "service")
    }

    @Test func noRequestsWaitsUntilTheMinerHasBeenUpThatLong() {
        var conditions = AlertConditions(startedAt: 0)
        var config = AlertsConfig()
        config.noRequests = 1800
        config.diskFree = nil
        var facts = AlertFacts()
        func found(_ now: Double, _ miners: [MinerStatus]) -> [String] {
            conditions.evaluate(status: status(miners: miners), config: config, facts: facts, disks: [], now: now).map { "\($0.kind.rawValue) \($0.subject)" }
        }
        #expect(found(100, [miner("a", .starting), miner("b", .running)]).isEmpty)
        // A restart does not reset the time up.
        #expect(found(1000, [miner("a", .backingOff), miner("b", .running)]).isEmpty)
        #expect(found(1899, [miner("a", .running), miner("b", .running)]).isEmpty)
        facts.lastRequest["b"] = 1000
        #expect(found(1900, [miner("a", .running), miner("b", .running)]) == ["no_requests a"])
        #expect(found(2800, [miner("a", .running), miner("b", .running)]) == ["no_requests a", "no_requests b"])
        // Stopped by hand: no alert, and its time up starts again at its next start.
        #expect(found(2900, [miner("a", .stopped), miner("b", .running)]) == ["no_requests b"])
        #expect(found(3000, [miner("a", .running), miner("b", .running)]) == ["no_requests b"])
        let alerts = conditions.evaluate(status: status(miners: [miner("a", .running), miner("b", .running)]), config: config, facts: facts, disks: [], now: 4800)
        #expect(alerts.map(\.subject) == ["a", "b"])
        #expect(alerts.first?.detail == "no validator request (not refused) for at least 30m (alerts.no_requests: 30m)")
        #expect(alerts.last?.detail == "no validator request (not refused) for 1h03m, since 1970-01-01 00:16:40 UTC (alerts.no_requests: 30m)")
        facts.lastRequest["b"] = 4700
        #expect(found(4801, [miner("a", .running), miner("b", .running)]) == ["no_requests a"])
        // Gone from the config: forgotten; back in it, it starts from scratch.
        #expect(found(4802, [miner("a", .running)]) == ["no_requests a"])
        facts.lastRequest["b"] = nil
        #expect(found(4803, [miner("a", .running), miner("b", .running)]) == ["no_requests a"])
    }

    @Test func theLogsFactsAndTheDisks() {
        var conditions = AlertConditions(startedAt: 0)
        var config = AlertsConfig()
        config.diskFree = 10
        var facts = AlertFacts()
        facts.losses = [AlertFacts.Loss(worker: "a", lost: 12, first: 0, last: 60, error: "disk I/O error"), AlertFacts.Loss(worker: nil, lost: 3, first: 0, last: 60)]
        facts.failedServes = ["a": "the node did not answer", "gone": "not in the config"]
        facts.deregistered = ["b"]
        let disks = [
            DiskSpace(path: "/data", device: 7, freeBytes: 5, totalBytes: 100),
            DiskSpace(path: "/data/logs", device: 7, freeBytes: 5, totalBytes: 100),
            DiskSpace(path: "/roomy", device: 8, freeBytes: 50, totalBytes: 100),
        ]
        let alerts = conditions.evaluate(status: status(miners: [miner("a", .running), miner("b", .running)]), config: config, facts: facts, disks: disks, now: 100)
        #expect(alerts.map { "\($0.kind.rawValue) \($0.subject)" } == ["log_rows_lost a", "log_rows_lost supervisor", "serve_failed a", "deregistered b", "disk_full /data"])
        #expect(alerts[0].detail.hasPrefix("12 log rows dropped while the database could not be written, from 1970-01-01 00:00:00 UTC to 1970-01-01 00:01:00 UTC: disk I/O error"))
        #expect(alerts[3].detail == "hotkey 5Fb not registered on the subnet at the last two metagraph refreshes")
        #expect(alerts[4].detail == "5.00% free (5 B of 100 B), below alerts.disk_free 10%")
        #expect(conditions.lossesSince(100) == 0 && conditions.lossesSince(10_000) == 9400)
        // Without the log's facts only what the status and the disks say.
        #expect(conditions.evaluate(status: status(miners: []), config: config, facts: nil, disks: disks, now: 100).map(\.kind) == [.diskFull])
    }

    @Test func theFactsComeFromTheLog() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        func request(_ worker: String, at: Double, _ outcome: String) -> RequestRecord {
            RequestRecord(worker: worker, minerHotkey: "5F", synapse: "S", backend: "mock", batchSize: 4, receivedAt: at, finishedAt: at + 1, outcome: outcome, status: 200)
        }
        writer.record(request("a", at: 100, "complete"))
        writer.record(request("a", at: 200, "rejected"))
        writer.record(request("b", at: 50, "partial_timeout"))
        writer.record(request("c", at: 300, "rejected"))
        writer.record(ChainEventRecord(at: 10, kind: .serve, miner: "a", network: "test", netuid: 1, outcome: "failed", detail: "no node"))
        writer.record(ChainEventRecord(at: 10, kind: .serve, miner: "b", network: "test", netuid: 1, outcome: "failed"))
        writer.record(ChainEventRecord(at: 20, kind: .serve, miner: "b", network: "test", netuid: 1, outcome: "served"))
        #expect(writer.flush() > 0)
        try await database.write { db in
            try db.execute(sql: "INSERT INTO log_losses (at, worker, lost, since, error) VALUES (5, 'a', 9, 1, 'old'), (150, 'a', 4, 140, 'full'), (160, 'a', 6, NULL, 'full again'), (170, NULL, 2, NULL, NULL)")
        }
        let facts = try await AlertFacts.read(database, requestsSince: 60, lossesSince: 100)
        #expect(facts.lastRequest == ["a": 100])
        #expect(facts.losses == [AlertFacts.Loss(worker: nil, lost: 2, first: 170, last: 170), AlertFacts.Loss(worker: "a", lost: 10, first: 140, last: 160, error: "full again")])
        #expect(facts.failedServes == ["a": "no node"])
        #expect(facts.deregistered.isEmpty)
    }

    @Test func firingAlertsAreAGaugeByKind() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        try await AlertRecord.insert([
            AlertRecord(at: 1, kind: "disk_full", subject: "/a", noun: "", state: "firing", since: 1, detail: ""),
            AlertRecord(at: 1, kind: "disk_full", subject: "/b", noun: "", state: "firing", since: 1, detail: ""),
            AlertRecord(at: 1, kind: "crash_loop", subject: "m", noun: "miner", state: "firing", since: 1, detail: ""),
            AlertRecord(at: 2, kind: "crash_loop", subject: "m", noun: "miner", state: "resolved", since: 1, detail: ""),
        ], into: database)
        let text = try await MinerMetrics(database: database, miners: []).scrape(status: [])
        #expect(text.contains(#"miners_alerts_firing{kind="disk_full"} 2"#))
        #expect(text.contains(#"miners_alerts_firing{kind="crash_loop"} 0"#))
        #expect(text.contains(#"miners_alerts_firing{kind="no_requests"} 0"#))
    }

    // MARK: the monitor in the supervisor

    /// A crash-looping miner, checked every 15 s by a clock that runs a hundred times fast: one
    /// message however many checks, posted through a 500; resolved when the miner is stopped.
    @Test func theMonitorPostsACrashLoopOnceAndItsResolve() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alert-monitor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let variable = "ALERT_MONITOR_TEST_\(UInt32.random(in: 0...UInt32.max))"
        setenv(variable, "https://hooks.example/secret", 1)
        let path = directory.appendingPathComponent("miners.yaml").path
        try """
            database: \(directory.path)/log.sqlite
            alerts: {webhooks: [{kind: json, url_env: \(variable)}], disk_free: off}
            defaults: {backend: {kind: mock}, restart: {backoff_initial: 0.01, backoff_max: 0.02, max_restarts: 2, window: 60, crash_loop_cooldown: 300}}
            miners:
              - {name: flaky, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 1}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try MinersConfig.load(path: path)
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        let supervisor = Supervisor(config: config, log: log, logger: Logger(label: "test"), clock: HeldSleeps().clock) { _ in FakeLauncher(exitAtOnce: true) }
        let transport = ScriptedTransport([.status(500)])
        var sender = transport.sender
        sender.sleep = { _ in }
        let checks = Mutex(0)
        let fast = SupervisorClock(now: { Date().timeIntervalSince1970 }, sleep: { seconds in
            checks.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(Int64(seconds * 10)))
        })
        let monitor = AlertMonitor(supervisor: supervisor, database: database, logger: Logger(label: "test"), clock: fast, sender: sender, host: "h")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await monitor.run() }
            await supervisor.startAll()
            func waitFor(_ condition: () -> Bool) async -> Bool {
                for _ in 0..<1000 where !condition() { try? await Task.sleep(for: .milliseconds(10)) }
                return condition()
            }
            #expect(await waitFor { transport.bodies.count == 2 })
            #expect(transport.bodies.map { $0["alert"] as? String } == ["crash_loop", "crash_loop"])  // the 500, then taken
            let seen = checks.withLock { $0 }
            #expect(await waitFor { checks.withLock { $0 } >= seen + 5 })
            #expect(transport.bodies.count == 2)
            try await supervisor.stop("flaky")
            #expect(await waitFor { transport.bodies.count == 3 })
            #expect(transport.bodies.last?["state"] as? String == "resolved")
            #expect((transport.bodies.last?["message"] as? String)?.hasPrefix("[RESOLVED after ") == true)
            // The resolve is recorded after it is posted: wait for the row before stopping the monitor.
            #expect(await waitFor { (try? AlertRecord.firing(database).isEmpty) == true })
            group.cancelAll()
        }
        await supervisor.stopAll(reason: "test")
        // The history: what `miners status` lists and the next run takes up.
        let rows = try await database.read { db in try Row.fetchAll(db, sql: "SELECT kind, subject, noun, state FROM alerts ORDER BY id") }
        #expect(rows.map { "\($0["kind"] as String) \($0["subject"] as String) \($0["noun"] as String) \($0["state"] as String)" } == ["crash_loop flaky miner firing", "crash_loop flaky miner resolved"])
        #expect(try AlertRecord.firing(database).isEmpty)
    }
}
