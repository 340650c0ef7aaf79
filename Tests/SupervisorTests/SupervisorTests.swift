import Config
import Foundation
import GRDB
import LogStore
import Logging
import Synchronization
import TestSupport
import Testing
@testable import Supervisor

/// A stand-in worker: runs until asked to stop (or exits at once with `exitAtOnce`), and
/// remembers every launch and config it saw.
final class FakeLauncher: WorkerLauncher {
    let launches = Mutex<[MinerConfig]>([])
    let exitAtOnce: Bool

    init(exitAtOnce: Bool = false) {
        self.exitAtOnce = exitAtOnce
    }

    func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit {
        let pid = launches.withLock { launches in
            launches.append(miner)
            return Int32(1000 + launches.count)
        }
        await events.started(pid)
        if exitAtOnce { return .exited(code: 1) }
        await events.listening()
        for await request in events.stops {
            return request == .graceful ? .exited(code: 0) : .signaled(SIGKILL)
        }
        return .exited(code: 0)
    }

    func count(_ name: String) -> Int { launches.withLock { $0.filter { $0.name == name }.count } }
}

@Suite struct SupervisorTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("supervisor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func writeConfig(_ miners: String) throws -> String {
        let path = directory.appendingPathComponent("miners.yaml").path
        try """
            database: \(directory.path)/log.sqlite
            defaults: {backend: {kind: mock}, restart: {backoff_initial: 0.05, backoff_max: 0.2, max_restarts: 3, window: 60}}
            miners:
            \(miners)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let hotkeys = [
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        "5E1srFKtKRp3G9rfdtnXeU9pdTMck6jmss1bfzZSC6nJ3rot", "5Hh2vxRfjJpxmPdrVfCAFhPRAJE2Kbr8eQMt1QBDWkEML2jR",
    ]

    func miner(_ name: String, _ index: Int, extra: String = "") -> String {
        "  - {name: \(name), hotkey: \(Self.hotkeys[index]), port: \(freePort()), \(extra)}"
    }

    func freePort() -> Int { TestPorts.free() }

    /// A TCP socket bound to a free loopback port; the caller closes it.
    func boundSocket() -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func makeSupervisor(_ path: String, launcher: any WorkerLauncher) throws -> (Supervisor, LogWriter, DatabaseQueue) {
        let config = try ConfigCheck.run(path: path)
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        return (Supervisor(config: config, log: log, logger: Logger(label: "test")) { _ in launcher }, log, database)
    }

    func waitFor(_ condition: () async -> Bool) async {
        for _ in 0..<200 {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    func states(_ supervisor: Supervisor) async -> [String: MinerState] {
        Dictionary(uniqueKeysWithValues: await supervisor.status().miners.map { ($0.name, $0.state) })
    }

    @Test func aWorkerThatAlwaysExitsEndsCrashLoopingWithoutABusyLoop() async throws {
        let path = try writeConfig(miner("flaky", 0))
        // A real process that exits at once: /bin/false.
        let launcher = ProcessLauncher(
            executable: "/bin/false", configPath: path, databasePath: directory.path + "/log.sqlite",
            gracePeriod: 1, logDirectory: directory.path + "/logs", echo: false
        )
        let (supervisor, log, database) = try makeSupervisor(path, launcher: launcher)
        let started = ContinuousClock.now
        await supervisor.startAll()
        await waitFor { await states(supervisor)["flaky"] == .crashLooping }
        let elapsed = ContinuousClock.now - started
        #expect(await states(supervisor)["flaky"] == .crashLooping)
        let status = await supervisor.status().miners[0]
        #expect(status.restarts == 3)
        #expect(status.lastExit == "exit 1")
        // Backoffs of about 0.05 + 0.1 + 0.2 s lie between the four launches.
        #expect(elapsed >= .milliseconds(250))
        log.flush()
        let events = try await database.read { db in try String.fetchAll(db, sql: "SELECT event FROM lifecycle WHERE miner = 'flaky' ORDER BY id") }
        #expect(events.filter { $0 == "start" }.count == 4)
        #expect(events.filter { $0 == "exit" }.count == 4)
        #expect(events.filter { $0 == "backoff" }.count == 3)
        #expect(events.last == "crash_loop")
        // A manual start tries again.
        await #expect(throws: Never.self) { try await supervisor.start("flaky") }
        await waitFor { await states(supervisor)["flaky"] == .crashLooping }
        await supervisor.stopAll(reason: "test")
    }

    /// `fleet:` follows reloads (the replication service reads `config.fleet`); no worker restarts
    /// for it, and the summary names the server without its password.
    @Test func aReloadThatChangesOnlyTheFleetRestartsNoWorker() async throws {
        let keep = miner("keep", 0)
        let path = try writeConfig(keep)
        let launcher = FakeLauncher()
        let (supervisor, _, _) = try makeSupervisor(path, launcher: launcher)
        await supervisor.startAll()
        await waitFor { await states(supervisor).values.allSatisfy { $0 == .running } }

        let secrets = directory.appendingPathComponent("fleet.env").path
        #expect(FileManager.default.createFile(
            atPath: secrets, contents: Data("FLEET_URL=postgres://miners:s3cret@10.0.0.9:5432/fleet\n".utf8), attributes: [.posixPermissions: 0o600]
        ))
        let config = try String(contentsOfFile: path, encoding: .utf8)
        try ("fleet: {postgres_env: FLEET_URL, env_file: \(secrets), host: gpu-1}\n" + config).write(toFile: path, atomically: true, encoding: .utf8)
        let added = try await supervisor.reload()
        #expect(added.hasSuffix("0 added, 0 removed, 0 changed, 1 unchanged; fleet: replicating to postgres://miners:<secret>@10.0.0.9:5432/fleet?sslmode=prefer as host 'gpu-1'"), "\(added)")
        #expect(await supervisor.config.fleet?.host == "gpu-1")
        #expect(!added.contains("s3cret"))

        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let removed = try await supervisor.reload()
        #expect(removed.hasSuffix("1 unchanged; fleet: removed, replication stops"), "\(removed)")
        #expect(await supervisor.config.fleet == nil)
        #expect(launcher.count("keep") == 1)
        await supervisor.stopAll(reason: "test")
    }

    /// What a running supervisor holds (the database, the metrics port) needs a restart: a
    /// reload that changes it is refused and the running set is kept.
    @Test func aReloadCannotMoveTheDatabaseOrTheMetricsPort() async throws {
        let path = try writeConfig(miner("keep", 0))
        let launcher = FakeLauncher()
        let (supervisor, _, _) = try makeSupervisor(path, launcher: launcher)
        await supervisor.startAll()
        await waitFor { await states(supervisor).values.allSatisfy { $0 == .running } }
        let config = try String(contentsOfFile: path, encoding: .utf8)

        try config.replacingOccurrences(of: "/log.sqlite", with: "/moved.sqlite").write(toFile: path, atomically: true, encoding: .utf8)
        await #expect { try await supervisor.reload() } throws: { "\($0)".contains("field 'database': cannot change while the supervisor runs") }
        try ("supervisor: {metrics_port: \(freePort())}\n" + config).write(toFile: path, atomically: true, encoding: .utf8)
        await #expect { try await supervisor.reload() } throws: { "\($0)".contains("cannot change while the supervisor runs; restart the supervisor") }
        #expect(await supervisor.config.database.hasSuffix("/log.sqlite"))
        #expect(await supervisor.config.supervisor.metricsPort == nil)
        #expect(launcher.count("keep") == 1)
        await supervisor.stopAll(reason: "test")
    }

    @Test func reloadChangesExactlyWhatChanged() async throws {
        let keep = miner("keep", 0), change = miner("change", 1), remove = miner("remove", 2)
        let path = try writeConfig([keep, change, remove].joined(separator: "\n"))
        let launcher = FakeLauncher()
        let (supervisor, log, database) = try makeSupervisor(path, launcher: launcher)
        await supervisor.startAll()
        await waitFor { await states(supervisor).values.allSatisfy { $0 == .running } }

        _ = try writeConfig([keep, change.replacingOccurrences(of: "}", with: "streaming_batch_size: 3}"), miner("add", 3)].joined(separator: "\n"))
        let summary = try await supervisor.reload()
        #expect(summary.hasPrefix("reloaded \(path): 1 added, 1 removed, 1 changed, 1 unchanged"))
        await waitFor { await states(supervisor).values.allSatisfy { $0 == .running } }
        #expect(await supervisor.status().miners.map(\.name) == ["keep", "change", "add"])
        #expect(launcher.count("keep") == 1)
        #expect(launcher.count("change") == 2, "\(launcher.launches.withLock { $0.map { "\($0.name)/\($0.streamingBatchSize)" } })")
        #expect(launcher.launches.withLock { $0.last { $0.name == "change" }?.streamingBatchSize } == 3)
        #expect(launcher.count("add") == 1)
        #expect(launcher.count("remove") == 1)

        // An invalid config is rejected and nothing changes.
        try "miners: [".write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: ConfigError.self) { try await supervisor.reload() }
        #expect(await supervisor.status().miners.count == 3)
        #expect(launcher.launches.withLock { $0.count } == 5)
        await supervisor.stopAll(reason: "test")
        log.flush()
        let stops = try await database.read { db in
            try String.fetchAll(db, sql: "SELECT miner || ':' || detail FROM lifecycle WHERE event = 'stop' AND detail != 'test' ORDER BY id")
        }
        #expect(Set(stops) == ["remove:removed from the config", "change:changed in the config"])
    }

    @Test func controlCommandsActOnOneMiner() async throws {
        let path = try writeConfig([miner("a", 0), miner("b", 1)].joined(separator: "\n"))
        let launcher = FakeLauncher()
        let (supervisor, _, _) = try makeSupervisor(path, launcher: launcher)
        await supervisor.startAll()
        await waitFor { await states(supervisor).values.allSatisfy { $0 == .running } }
        try await supervisor.stop("a")
        #expect(await states(supervisor) == ["a": .stopped, "b": .running])
        try await supervisor.start("a")
        await waitFor { await states(supervisor)["a"] == .running }
        try await supervisor.restart("b")
        await waitFor { await states(supervisor)["b"] == .running }
        #expect(launcher.count("a") == 2 && launcher.count("b") == 2)
        await #expect(throws: Supervisor.ControlError.self) { try await supervisor.stop("zzz") }
        await supervisor.stopAll(reason: "test")
        #expect(await states(supervisor).values.allSatisfy { $0 == .stopped })
    }

    @Test func aTakenPortIsReportedBeforeAnythingStarts() throws {
        let (listener, port) = boundSocket()
        defer { close(listener) }
        listen(listener, 1)
        let path = try writeConfig("  - {name: a, hotkey: \(Self.hotkeys[0]), port: \(port)}")
        #expect(throws: ConfigError(file: path, miner: "a", field: "port", message: "port \(port) on 127.0.0.1 is already in use")) {
            try ConfigCheck.run(path: path)
        }
        #expect(throws: Never.self) { try ConfigCheck.run(path: path, ownPorts: ["127.0.0.1:\(port)"]) }
    }

    @Test func oneSupervisorPerDatabase() throws {
        let database = directory.path + "/log.sqlite"
        let first = try SupervisorLock(database: database)
        #expect(throws: SupervisorLock.Held.self) { try SupervisorLock(database: database) }
        withExtendedLifetime(first) {}
    }
}
