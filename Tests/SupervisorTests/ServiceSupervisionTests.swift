import Config
import Foundation
import GRDB
import LogStore
import Logging
import Synchronization
import Testing
@testable import Supervisor

/// Health answers a test sets per service.
final class ScriptedHealth: HealthChecking {
    private let healthy = Mutex<[String: Bool]>([:])

    func set(_ name: String, _ value: Bool) {
        healthy.withLock { $0[name] = value }
    }

    func check(_ service: ServiceConfig) async -> HealthProbe.Result {
        healthy.withLock { $0[service.name] ?? false }
            ? HealthProbe.Result(healthy: true, answer: "200", seconds: 0.001)
            : HealthProbe.Result(healthy: false, answer: "503 Loading model", seconds: 0.001)
    }
}

/// Stand-ins for workers and services: every launch, stop and gate order in one ordered journal
/// (`start:NAME`, `stop:NAME`, `ready:NAME`, `not_ready:NAME:REASON`); a service exits when the
/// test crashes it.
final class JournalLauncher: WorkerLauncher {
    private let journal = Mutex<[String]>([])
    private let crashes = Mutex<[String: AsyncStream<Void>.Continuation]>([:])

    var entries: [String] { journal.withLock { $0 } }

    func note(_ entry: String) {
        journal.withLock { $0.append(entry) }
    }

    func count(_ entry: String) -> Int { entries.filter { $0 == entry }.count }

    /// Index of the first entry with this prefix, after `after`.
    func index(of prefix: String, after: Int = -1) -> Int? {
        entries.enumerated().first { $0.offset > after && $0.element.hasPrefix(prefix) }?.offset
    }

    func crash(_ service: String) {
        crashes.withLock { $0[service] }?.yield()
    }

    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit {
        note("start:\(miner.name)")
        await events.started(Int32(2000 + entries.count))
        await events.listening()
        for await request in events.stops {
            switch request {
            case .graceful:
                note("stop:\(miner.name)")
                return .exited(code: 0)
            case .force: return .signaled(SIGKILL)
            case .backend(let ready, let reason): note(ready ? "ready:\(miner.name)" : "not_ready:\(miner.name):\(reason)")
            }
        }
        return .exited(code: 0)
    }

    func runService(_ service: ServiceConfig, events: WorkerEvents) async throws -> WorkerExit {
        note("start:\(service.name)")
        let (crashed, trigger) = AsyncStream<Void>.makeStream()
        crashes.withLock { $0[service.name] = trigger }
        await events.started(Int32(3000 + entries.count))
        return await withTaskGroup(of: WorkerExit?.self) { group in
            group.addTask {
                for await request in events.stops where request == .graceful || request == .force {
                    self.note("stop:\(service.name)")
                    return request == .graceful ? .exited(code: 0) : .signaled(SIGKILL)
                }
                return nil
            }
            group.addTask {
                for await _ in crashed { return .signaled(SIGKILL) }
                return nil
            }
            let exit = await group.next() ?? nil
            group.cancelAll()
            trigger.finish()
            return exit ?? .exited(code: 0)
        }
    }
}

/// Services under the supervisor, in-process: readiness reaches the miners that depend on a
/// service, restarts leave those miners running, ordering on a shared GPU and by `depends_on`,
/// a service that never becomes healthy, and the order of a stop. The supervisor's clock runs
/// fifty times fast.
@Suite struct ServiceSupervisionTests {
    let directory: URL
    let ports: [Int]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("services-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let helper = try SupervisorTests()
        ports = (0..<6).map { _ in helper.freePort() }
    }

    static let fast = SupervisorClock(
        now: { Date().timeIntervalSince1970 },
        sleep: { seconds in try await Task.sleep(for: .milliseconds(Int64(max(1, (seconds * 20).rounded(.up))))) }
    )

    func supervisor(_ services: String, miners: String, health: ScriptedHealth, launcher: JournalLauncher) throws -> (Supervisor, LogWriter, DatabaseQueue) {
        let path = try writeConfig(services, miners: miners)
        let config = try ConfigCheck.run(path: path)
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        let supervisor = Supervisor(config: config, log: log, logger: Logger(label: "test"), clock: Self.fast, probe: health) { _ in launcher }
        return (supervisor, log, database)
    }

    func writeConfig(_ services: String, miners: String) throws -> String {
        let path = directory.appendingPathComponent("miners.yaml").path
        try """
            database: \(directory.path)/log.sqlite
            defaults:
              backend: {kind: mock}
              restart: {backoff_initial: 1, backoff_max: 2, max_restarts: 50, window: 60}
              service: {start_period: 0, interval: 1, failures: 2, restart: {backoff_initial: 1, backoff_max: 2, max_restarts: 50, window: 60}}
            services:
            \(services)
            miners:
            \(miners)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func miner(_ name: String, _ index: Int, _ extra: String = "") -> String {
        "  - {name: \(name), hotkey: \(SupervisorTests.hotkeys[index]), port: \(ports[index])\(extra)}"
    }

    func service(_ name: String, _ index: Int, _ extra: String = "") -> String {
        "  - {name: \(name), command: [sh], port: \(ports[4 + index])\(extra)}"
    }

    /// Polls for up to 10 s.
    func waitFor(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func serviceState(_ supervisor: Supervisor, _ name: String) async -> ServiceStatus? {
        await supervisor.status().services.first { $0.name == name }
    }

    @Test func aMinerIsToldItsServiceIsReadyNotReadyAndReadyAgainWithoutARestart() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        let (supervisor, log, database) = try supervisor(
            service("llm", 0), miners: miner("a", 0, ", depends_on: [llm]") + "\n" + miner("b", 1), health: health, launcher: launcher
        )
        await supervisor.startAll()
        #expect(await waitFor { launcher.index(of: "not_ready:a:service 'llm' is starting") != nil })
        #expect(await waitFor { await supervisor.status().miners.first { $0.name == "a" }?.notReady == "service 'llm' is starting" })
        health.set("llm", true)
        #expect(await waitFor { launcher.index(of: "ready:a") != nil })
        #expect(await serviceState(supervisor, "llm")?.state == .running)
        #expect(await serviceState(supervisor, "llm")?.lastCheck?.healthy == true)
        #expect(await waitFor { await supervisor.status().miners.first { $0.name == "a" }?.notReady == nil })

        // The server dies: its miner is told at once, the service comes back, the miner too.
        let readyAt = try #require(launcher.index(of: "ready:a"))
        launcher.crash("llm")
        #expect(await waitFor { launcher.index(of: "not_ready:a", after: readyAt) != nil })
        let downAt = try #require(launcher.index(of: "not_ready:a", after: readyAt))
        #expect(await waitFor { launcher.index(of: "ready:a", after: downAt) != nil })
        #expect(launcher.count("start:llm") == 2)
        #expect(launcher.count("start:a") == 1 && launcher.count("start:b") == 1)
        #expect(!launcher.entries.contains { $0.hasPrefix("ready:b") || $0.hasPrefix("not_ready:b") })  // b needs no service
        #expect(await serviceState(supervisor, "llm")?.restarts == 1)
        #expect(await serviceState(supervisor, "llm")?.dependents == ["a"])

        await supervisor.stopAll(reason: "test")
        // The miners stop before the services they may still be streaming from.
        let stops = launcher.entries.filter { $0.hasPrefix("stop:") }
        #expect(stops.last == "stop:llm" && stops.count == 3)
        log.flush()
        let rows = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT event, detail FROM lifecycle WHERE service = 'llm' AND miner IS NULL ORDER BY id")
        }
        let events = rows.map { $0["event"] as String }
        #expect(Array(events.prefix(5)) == ["start", "running", "exit", "backoff", "start"])
        #expect((rows[1]["detail"] as String?)?.hasPrefix("healthy after") == true)
    }

    @Test func aServiceThatNeverPassesIsRestartedWithAGrowingBackoffAndSaysWhy() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        let (supervisor, log, database) = try supervisor(service("llm", 0), miners: miner("a", 0, ", backend: {kind: openai, service: llm, model: m}"), health: health, launcher: launcher)
        await supervisor.startAll()
        #expect(await waitFor { launcher.count("start:llm") >= 4 })
        let status = try #require(await serviceState(supervisor, "llm"))
        #expect(status.lastCheck?.answer == "503 Loading model")
        #expect(status.lastCheck?.healthy == false)
        #expect(status.note?.hasPrefix("never healthy within start_period 0 s") == true)
        #expect(launcher.index(of: "ready:a") == nil)
        await supervisor.stopAll(reason: "test")
        log.flush()
        let rows = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT event, detail, backoff_s FROM lifecycle WHERE service = 'llm' ORDER BY id")
        }
        let unhealthy = rows.filter { $0["event"] as String == "unhealthy" }
        #expect(unhealthy.count >= 3)
        #expect(unhealthy.allSatisfy { ($0["detail"] as String).contains("never healthy within start_period 0 s and 2 more checks, the last: 503 Loading model") })
        // Each restart counts as a quick crash: 1 s, then 2 s (±20 %).
        let backoffs = rows.compactMap { $0["backoff_s"] as Double? }
        #expect(backoffs.count >= 2 && backoffs[1] > backoffs[0] * 1.3)
    }

    @Test func servicesOnOneGPUStartOneAfterTheOther() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        let (supervisor, _, _) = try supervisor(
            service("first", 0, ", gpus: [0, 1], start_period: 600") + "\n" + service("second", 1, ", gpus: [1]"), miners: miner("a", 0), health: health, launcher: launcher
        )
        health.set("second", true)
        await supervisor.startAll()
        #expect(await waitFor { await serviceState(supervisor, "second")?.state == .waiting })
        try await Task.sleep(for: .milliseconds(300))  // 15 s of the supervisor's time
        #expect(launcher.count("start:second") == 0)
        #expect(await serviceState(supervisor, "second")?.note == "'first' to finish starting on GPU 1")
        health.set("first", true)
        #expect(await waitFor { await serviceState(supervisor, "second")?.state == .running })
        let first = try #require(launcher.index(of: "start:first"))
        #expect(try #require(launcher.index(of: "start:second")) > first)
        await supervisor.stopAll(reason: "test")
    }

    @Test func aServiceWaitsForItsDependencyAndAControlRestartGatesItsMiners() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        let (supervisor, _, _) = try supervisor(
            service("db", 0) + "\n" + service("llm", 1, ", depends_on: [db]"), miners: miner("a", 0, ", depends_on: [llm]"), health: health, launcher: launcher
        )
        health.set("llm", true)
        await supervisor.startAll()
        #expect(await waitFor { await serviceState(supervisor, "llm")?.state == .waiting })
        #expect(launcher.count("start:llm") == 0)
        // Readiness reaches the miner through the supervisor's relay: soon, not at once.
        let waiting = "service 'llm' is waiting ('db' to be healthy (depends_on))"
        #expect(await waitFor { await supervisor.status().miners[0].notReady == waiting })
        health.set("db", true)
        #expect(await waitFor { launcher.index(of: "ready:a") != nil })

        let readyAt = try #require(launcher.index(of: "ready:a"))
        try await supervisor.restart("llm")
        #expect(launcher.index(of: "not_ready:a:service 'llm' is stopping", after: readyAt) != nil)
        #expect(await waitFor { launcher.index(of: "ready:a", after: readyAt) != nil })
        #expect(launcher.count("start:llm") == 2 && launcher.count("start:a") == 1)
        await #expect(throws: Supervisor.ControlError.self) { try await supervisor.restart("nope") }
        await supervisor.stopAll(reason: "test")
    }

    @Test func aReloadStartsNewServicesRestartsChangedOnesAndStopsRemovedOnes() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        health.set("llm", true)
        health.set("tgi", true)
        let (supervisor, _, _) = try supervisor(service("llm", 0), miners: miner("a", 0, ", depends_on: [llm]"), health: health, launcher: launcher)
        await supervisor.startAll()
        #expect(await waitFor { launcher.index(of: "ready:a") != nil })

        _ = try writeConfig(
            service("llm", 0, ", interval: 2") + "\n" + service("tgi", 1),
            miners: miner("a", 0, ", depends_on: [llm]") + "\n" + miner("b", 1, ", backend: {kind: tgi, service: tgi}")
        )
        let added = try await supervisor.reload()
        #expect(added.hasSuffix("; services: 1 added, 0 removed, 1 changed, 0 unchanged llm, tgi"), "\(added)")
        #expect(await waitFor { launcher.count("start:llm") == 2 && launcher.count("start:tgi") == 1 })
        #expect(await waitFor { launcher.index(of: "ready:b") != nil })
        let stopping = try #require(launcher.index(of: "not_ready:a:service 'llm' is stopping"))
        #expect(await waitFor { launcher.index(of: "ready:a", after: stopping) != nil })
        #expect(launcher.count("start:a") == 1)  // its own settings did not change
        #expect(await supervisor.status().services.map(\.name) == ["llm", "tgi"])

        _ = try writeConfig(service("llm", 0, ", interval: 2"), miners: miner("a", 0, ", depends_on: [llm]"))
        let removed = try await supervisor.reload()
        #expect(removed.contains("0 added, 1 removed, 0 changed, 1 unchanged b"), "\(removed)")
        #expect(removed.hasSuffix("; services: 0 added, 1 removed, 0 changed, 1 unchanged tgi"), "\(removed)")
        #expect(launcher.entries.contains("stop:tgi") && launcher.entries.contains("stop:b"))  // reload waits for the stops
        #expect(await supervisor.status().services.map(\.name) == ["llm"])
        await supervisor.stopAll(reason: "test")
    }

    /// The turn on a GPU is held by whoever is starting on it, also by a later service while an
    /// earlier one backs off: the earlier one's next start waits for it.
    @Test func aServiceBackingOffWaitsForTheOneThatTookItsGPU() async throws {
        let health = ScriptedHealth()
        let launcher = JournalLauncher()
        let (supervisor, _, _) = try supervisor(
            service("first", 0, ", gpus: [0]") + "\n" + service("second", 1, ", gpus: [0], start_period: 600"),
            miners: miner("a", 0), health: health, launcher: launcher
        )
        await supervisor.startAll()
        // first never passes: it is restarted, and second takes the GPU meanwhile.
        #expect(await waitFor { launcher.count("start:second") == 1 })
        #expect(await waitFor { await serviceState(supervisor, "first")?.note == "'second' to finish starting on GPU 0" })
        let firstStarts = launcher.count("start:first")
        try await Task.sleep(for: .milliseconds(300))
        #expect(launcher.count("start:first") == firstStarts)
        health.set("second", true)
        #expect(await waitFor { launcher.count("start:first") > firstStarts })
        let secondHealthy = try #require(await serviceState(supervisor, "second")?.healthySince)
        #expect(secondHealthy > 0)
        await supervisor.stopAll(reason: "test")
    }
}
