import Config
import Foundation
import GRDB
import LogStore
import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import Supervisor

/// A stand-in worker that notes every stop order it receives and takes `stopDelay` seconds to
/// stop gracefully (or ignores the graceful order altogether).
final class OrderLauncher: WorkerLauncher {
    struct Order: Sendable {
        var miner: String
        var request: StopRequest
        var at: ContinuousClock.Instant
    }
    let orders = Mutex<[Order]>([])
    let launches = Mutex<[String]>([])
    let stopDelay: Double
    let ignoresGraceful: Bool

    init(stopDelay: Double = 0, ignoresGraceful: Bool = false) {
        self.stopDelay = stopDelay
        self.ignoresGraceful = ignoresGraceful
    }

    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit {
        let pid = launches.withLock { $0.append(miner.name); return Int32(2000 + $0.count) }
        await events.started(pid)
        await events.listening()
        for await request in events.stops {
            orders.withLock { $0.append(Order(miner: miner.name, request: request, at: .now)) }
            if request == .force { return .signaled(SIGKILL) }
            if ignoresGraceful { continue }
            try? await Task.sleep(for: .milliseconds(Int64(stopDelay * 1000)))
            return .exited(code: 0)
        }
        return .exited(code: 0)
    }

    func firstOrder(_ miner: String, _ request: StopRequest) -> Order? {
        orders.withLock { $0.first { $0.miner == miner && $0.request == request } }
    }

    func launchCount(_ miner: String) -> Int { launches.withLock { $0.filter { $0 == miner }.count } }
}

@Suite struct SupervisorServiceTests {
    let directory: URL
    let path: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("miners.yaml").path
    }

    func writeConfig(batchOfA: Int = 12) throws {
        try """
            database: \(directory.path)/log.sqlite
            supervisor: {grace_period: 20}
            defaults: {backend: {kind: mock}}
            miners:
              - {name: a, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 1, streaming_batch_size: \(batchOfA)}
              - {name: b, hotkey: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty, port: 2}
            """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    struct Harness {
        var supervisor: Supervisor
        var log: LogWriter
        var database: DatabaseQueue
        var group: ServiceGroup
        var stop: AsyncStream<String>.Continuation
        var reload: AsyncStream<String>.Continuation
    }

    /// The supervisor's service in a service group of its own, with signals the test sends.
    func harness(_ launcher: any WorkerLauncher) throws -> Harness {
        try writeConfig()
        // The ports are placeholders: the stand-in workers bind nothing, and a reload must not
        // find them taken.
        let config = try MinersConfig.load(path: path)
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let logger = Logger(label: "test")
        let log = LogWriter(database: database, logger: logger)
        let supervisor = Supervisor(config: config, log: log, logger: logger) { _ in launcher }
        let (stopSignals, stop) = AsyncStream<String>.makeStream()
        let (reloadSignals, reload) = AsyncStream<String>.makeStream()
        let service = SupervisorService(supervisor: supervisor, logger: logger, stopSignals: stopSignals, reloadSignals: reloadSignals)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: log), .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: logger
        ))
        return Harness(supervisor: supervisor, log: log, database: database, group: group, stop: stop, reload: reload)
    }

    func waitFor(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<400 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition()
    }

    func allRunning(_ supervisor: Supervisor) async -> Bool {
        let miners = await supervisor.status().miners
        return miners.count == 2 && miners.allSatisfy { $0.state == .running }
    }

    @Test func aStopSignalDuringAReloadStartsTheStopAtOnce() async throws {
        let launcher = OrderLauncher(stopDelay: 1.5)
        let h = try harness(launcher)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await h.group.run() }
            #expect(await waitFor { await allRunning(h.supervisor) })

            // The reload restarts a, whose worker takes 1.5 s to stop.
            try writeConfig(batchOfA: 3)
            h.reload.yield("SIGHUP")
            #expect(await waitFor { launcher.firstOrder("a", .graceful) != nil })
            let signalled = ContinuousClock.now
            h.stop.yield("SIGTERM")
            #expect(await waitFor { launcher.firstOrder("b", .graceful) != nil })
            let orderToB = try #require(launcher.firstOrder("b", .graceful)).at - signalled
            #expect(orderToB < .milliseconds(500), "b got its stop order \(orderToB) after the signal")
            try await tasks.next()
            // Everything stopped within a's 1.5 s, and the reload started nothing afterwards.
            #expect(ContinuousClock.now - signalled < .seconds(5))
            #expect(launcher.launchCount("a") == 1)
        }
        let stops = try await h.database.read { db in
            try String.fetchAll(db, sql: "SELECT detail FROM lifecycle WHERE event = 'supervisor_stop'")
        }
        #expect(stops == ["supervisor received SIGTERM"])
    }

    @Test func aSecondStopSignalKillsTheWorkers() async throws {
        let launcher = OrderLauncher(ignoresGraceful: true)
        let h = try harness(launcher)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await h.group.run() }
            #expect(await waitFor { await allRunning(h.supervisor) })
            h.stop.yield("SIGTERM")
            #expect(await waitFor { launcher.firstOrder("a", .graceful) != nil && launcher.firstOrder("b", .graceful) != nil })
            h.stop.yield("SIGINT")
            try await tasks.next()
        }
        #expect(launcher.firstOrder("a", .force) != nil && launcher.firstOrder("b", .force) != nil)
        #expect(await h.supervisor.status().miners.allSatisfy { $0.state == .stopped })
    }

    @Test func theGroupsGracefulShutdownStopsTheWorkers() async throws {
        let launcher = OrderLauncher()
        let h = try harness(launcher)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await h.group.run() }
            #expect(await waitFor { await allRunning(h.supervisor) })
            await h.group.triggerGracefulShutdown()
            try await tasks.next()
        }
        #expect(launcher.firstOrder("a", .graceful) != nil && launcher.firstOrder("b", .graceful) != nil)
        #expect(launcher.orders.withLock { $0.allSatisfy { $0.request == .graceful } })
        // The log writer, shut down last, has written every row.
        let events = try await h.database.read { db in
            try String.fetchAll(db, sql: "SELECT event FROM lifecycle WHERE miner IS NULL ORDER BY id")
        }
        #expect(events == ["supervisor_start", "supervisor_stop"])
    }
}
