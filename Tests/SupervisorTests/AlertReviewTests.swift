import Config
import GRDB
import LogStore
import Foundation
import Testing
@testable import Supervisor

/// Review of #18: what a webhook answers and what the log database holds can be anything;
/// neither may trap the supervisor.
@Suite struct AlertReviewTests {
    let crash = Alert(kind: .crashLoop, subject: "a", noun: "miner", detail: "restarted too often")
    let webhook = WebhookConfig(kind: .json, variable: "URL", url: Secret("https://hooks.example/secret-path/xyz"))

    /// `Double("nan")` is NaN, and NaN slips through `min`/`max`: the wait would trap the
    /// conversion to milliseconds of the real clock.
    @Test(arguments: ["nan", "NaN", "-nan", " nan "])
    func a429WithANaNRetryAfterWaitsTheBackoff(header: String) async {
        let transport = ScriptedTransport([.status(429, retryAfter: header), .status(204)])
        let message = AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "h")
        #expect(await transport.sender.send(message, to: webhook) == .delivered(status: 204, tries: 2))
        #expect(transport.sleeps == [1], "\(transport.sleeps)")
    }

    @Test func aRetryAfterOfInfinityOrBelowZeroIsBounded() async {
        let transport = ScriptedTransport([.status(429, retryAfter: "inf"), .status(429, retryAfter: "-1e30"), .status(204)])
        let message = AlertMessage(alert: crash, state: .firing, since: 0, at: 0, host: "h")
        #expect(await transport.sender.send(message, to: webhook) == .delivered(status: 204, tries: 3))
        #expect(transport.sleeps == [60, 0])
    }

    @Test func theSystemClockSleepsNoTimeForANaNAndIsCancelledFromAnAbsurdWait() async throws {
        try await SupervisorClock.system.sleep(.nan)
        try await SupervisorClock.system.sleep(-.infinity)
        let long = Task { try await SupervisorClock.system.sleep(1e30) }
        long.cancel()
        await #expect(throws: CancellationError.self) { try await long.value }
    }

    /// A restored alert's `since` and a request's `received_at` come from the log database.
    @Test func aMessageOfAnAbsurdTimeSaysSoInsteadOfTrapping() {
        for since in [-1e300, 1e300, -Double.infinity, Double.infinity] {
            let resolved = AlertMessage(alert: crash, state: .resolved, since: since, at: 1_800_000_000, host: "h")
            #expect(resolved.text.hasPrefix("[RESOLVED after "), "\(resolved.text)")
            let again = AlertMessage(alert: crash, state: .firing, since: since, at: 1_800_000_000, host: "h", repeated: true)
            #expect(again.text.hasPrefix("[STILL FIRING for "), "\(again.text)")
        }
        #expect(AlertMessage.duration(.infinity) == "?")
        #expect(AlertMessage.duration(90) == "1m")
    }

    @Test func aBookRestoredFromAbsurdRowsResolvesThem() {
        var book = AlertBook(repeatEvery: 60, host: "h")
        book.restore(crash, since: -1e300, lastSent: -1e300)
        let repeated = book.update([crash], now: 1_800_000_000)
        #expect(repeated.count == 1 && repeated[0].text.contains("STILL FIRING"))
        let resolved = book.update([], now: 1_800_000_100)
        #expect(resolved.count == 1 && resolved[0].text.contains("RESOLVED"))
    }

    @Test func aNoRequestsAlertOfARequestFromTheFarFutureDoesNotTrap() {
        var conditions = AlertConditions(startedAt: 0)
        var config = AlertsConfig()
        config.noRequests = 60
        var facts = AlertFacts()
        facts.lastRequest["m"] = -1e300
        let miner = MinerStatus(name: "m", hotkey: "5x", host: "127.0.0.1", port: 1, backend: "mock", batchSize: 1, state: .running)
        let status = SupervisorStatus(pid: 1, config: "c", database: "d", startedAt: 0, miners: [miner])
        _ = conditions.evaluate(status: status, config: config, facts: facts, disks: [], now: 1_000)
        let alerts = conditions.evaluate(status: status, config: config, facts: facts, disks: [], now: 10_000)
        #expect(alerts.map(\.kind) == [.noRequests])
    }
}

/// Review of #18: what the alert monitor reads from the log, as other processes wrote it.
@Suite struct AlertFactsReviewTests {
    @Test func aRequestOrALossWithATextTimeDoesNotTrapTheMonitor() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-review-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, received_at, finished_at, outcome, status)
                VALUES (5, 'h', 'S', 'mock', 4, 'garbage', 0, 'complete', 200), ('a', 'h', 'S', 'mock', 4, 100, 101, 'complete', 200)
                """)
            try db.execute(sql: "INSERT INTO log_losses (at, worker, lost, since, error) VALUES (150, 'a', 9223372036854775807, 'x', 5), (151, 'a', 9, 1, 'e')")
        }
        let facts = try await AlertFacts.read(database, requestsSince: 60, lossesSince: 100)
        #expect(facts.lastRequest == ["5": 0, "a": 100])
        #expect(facts.losses.count == 1 && facts.losses[0].lost > 0)
    }
}
