import Config
import Foundation
import GRDB
import LogStore
import Logging
import Synchronization
import Testing
@testable import Supervisor

/// A sleep that returns at once for short waits and holds the long ones (the cooldown) until
/// the test lets them go: five minutes of cooldown tested in milliseconds.
final class HeldSleeps: Sendable {
    private let state = Mutex<(requests: [Double], released: Int)>(([], 0))
    let threshold: Double

    init(threshold: Double = 100) {
        self.threshold = threshold
    }

    var clock: SupervisorClock {
        SupervisorClock(now: { Date().timeIntervalSince1970 }, sleep: { [self] seconds in try await sleep(seconds) })
    }

    /// The long waits asked for so far.
    var requests: [Double] { state.withLock { $0.requests } }

    /// Ends the oldest long wait still held (and any later one, up to the count).
    func release() {
        state.withLock { $0.released += 1 }
    }

    private func sleep(_ seconds: Double) async throws {
        guard seconds >= threshold else {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            return
        }
        let ticket = state.withLock { state in
            state.requests.append(seconds)
            return state.requests.count
        }
        while state.withLock({ $0.released < ticket }) {
            try await Task.sleep(for: .milliseconds(5))  // throws when cancelled
        }
    }
}

@Suite struct CrashLoopCooldownTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cooldown-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func makeSupervisor(cooldown: Double, launcher: any WorkerLauncher, sleeps: HeldSleeps) throws -> (Supervisor, LogWriter, DatabaseQueue) {
        let path = directory.appendingPathComponent("miners.yaml").path
        try """
            database: \(directory.path)/log.sqlite
            defaults: {backend: {kind: mock}, restart: {backoff_initial: 0.01, backoff_max: 0.02, max_restarts: 2, window: 60, crash_loop_cooldown: \(cooldown)}}
            miners:
              - {name: flaky, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 1}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try MinersConfig.load(path: path)
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        let supervisor = Supervisor(config: config, log: log, logger: Logger(label: "test"), clock: sleeps.clock) { _ in launcher }
        return (supervisor, log, database)
    }

    func flaky(_ supervisor: Supervisor) async -> MinerStatus? {
        await supervisor.status().miners.first
    }

    func waitFor(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<400 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition()
    }

    func lifecycle(_ log: LogWriter, _ database: DatabaseQueue) throws -> [(event: String, detail: String?, backoff: Double?)] {
        log.flush()
        return try database.read { db in
            try Row.fetchAll(db, sql: "SELECT event, detail, backoff_s FROM lifecycle WHERE miner = 'flaky' ORDER BY id")
                .map { ($0["event"], $0["detail"], $0["backoff_s"]) }
        }
    }

    @Test func aCrashLoopingMinerIsTriedAgainAfterTheCooldown() async throws {
        let launcher = FakeLauncher(exitAtOnce: true)
        let sleeps = HeldSleeps()
        let (supervisor, log, database) = try makeSupervisor(cooldown: 300, launcher: launcher, sleeps: sleeps)
        await supervisor.startAll()

        // Three quick exits (the first run and two restarts), then the loop is called.
        #expect(await waitFor { sleeps.requests == [300] })
        let looping = try #require(await flaky(supervisor))
        #expect(looping.state == .crashLooping)
        #expect(launcher.count("flaky") == 3)
        let retryIn = try #require(looping.nextStartAt) - Date().timeIntervalSince1970
        #expect(retryIn > 290 && retryIn <= 300)
        let loopRow = try #require(try lifecycle(log, database).last)
        #expect(loopRow.event == "crash_loop" && loopRow.backoff == 300)
        #expect(loopRow.detail?.hasPrefix("crash-looping: 2 restarts within 60 s; trying again after a cooldown of 300 s, at ") == true)

        // The cooldown is over: the miner starts again by itself, with a fresh restart budget.
        sleeps.release()
        #expect(await waitFor { sleeps.requests.count == 2 })
        #expect(launcher.count("flaky") == 6)
        let events = try lifecycle(log, database)
        let restart = try #require(events.firstIndex { $0.event == "crash_loop" }.map { events[($0 + 1)...] }?.first)
        #expect(restart.event == "start" && restart.detail == "after the crash-loop cooldown of 300 s")
        #expect(events.filter { $0.event == "crash_loop" }.count == 2)

        // A stop during the second cooldown returns at once and leaves it stopped.
        let stopping = ContinuousClock.now
        await supervisor.stopAll(reason: "test")
        #expect(ContinuousClock.now - stopping < .seconds(2))
        #expect(await flaky(supervisor)?.state == .stopped)
        #expect(await flaky(supervisor)?.nextStartAt == nil)
        #expect(launcher.count("flaky") == 6)
    }

    @Test func aManualStartDuringTheCooldownTriesAtOnce() async throws {
        let launcher = FakeLauncher(exitAtOnce: true)
        let sleeps = HeldSleeps()
        let (supervisor, log, database) = try makeSupervisor(cooldown: 600, launcher: launcher, sleeps: sleeps)
        await supervisor.startAll()
        #expect(await waitFor { sleeps.requests == [600] })

        try await supervisor.start("flaky")
        #expect(await waitFor { sleeps.requests.count == 2 })
        #expect(launcher.count("flaky") == 6)
        let starts = try lifecycle(log, database).filter { $0.event == "start" }.map(\.detail)
        #expect(starts[3] == "started by hand during the crash-loop cooldown")
        await supervisor.stopAll(reason: "test")

        // Once the supervisor stops, nothing starts a miner again.
        await #expect(throws: Supervisor.ControlError.self) { try await supervisor.start("flaky") }
        #expect(launcher.count("flaky") == 6)
    }
}
