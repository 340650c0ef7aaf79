import AsyncHTTPClient
import Config
import Foundation
import LogStore
import Logging
import Supervisor

/// Runs every cell of a matrix: one miner under a supervisor (real worker processes), loaded
/// by the simulator, its results stored with the run. Cells run one after another, so they do
/// not compete for the CPU.
public struct MatrixRunner: Sendable {
    public let matrix: MatrixConfig
    /// The `miners` binary, for the workers.
    public let executable: String
    public let logger: Logger

    public init(matrix: MatrixConfig, executable: String, logger: Logger) {
        self.matrix = matrix
        self.executable = executable
        self.logger = logger
    }

    public struct CellError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs the matrix; `progress` receives a line per step (`final` for lines worth keeping).
    public func run(progress: @escaping @Sendable (_ line: String, _ final: Bool) -> Void) async throws -> (run: Int64, cells: [RankedCell]) {
        let database = URL(fileURLWithPath: matrix.database).standardizedFileURL.path
        let store = try SimulationStore(path: database)
        let run = try store.startRun(kind: "matrix", source: matrix.file, load: loadJSON)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("miners-matrix-\(run)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let log = LogWriter(database: store.database, logger: logger)
        let logTask = Task { try? await log.run() }
        defer { logTask.cancel() }
        let client = ValidatorClient.makeHTTPClient(connections: matrix.concurrencies.max() ?? 1)
        do {
            let ranked = try await runCells(run: run, store: store, log: log, client: client, scratch: scratch, database: database, progress: progress)
            try await client.shutdown()
            log.flush()
            try store.finishRun(run)
            return (run, ranked)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func runCells(
        run: Int64, store: SimulationStore, log: LogWriter, client: HTTPClient, scratch: String, database: String,
        progress: @escaping @Sendable (_ line: String, _ final: Bool) -> Void
    ) async throws -> [RankedCell] {
        var ranked: [RankedCell] = []
        let cells = matrix.cells
        for cell in cells {
            let title = "cell \(cell.index + 1)/\(cells.count) (\(cell.label))"
            progress("\(title): starting the worker", false)
            let port = try Self.freePort()
            let configPath = "\(scratch)/\(cell.name).yaml"
            try cellConfig(cell, port: port, database: database, logDirectory: "\(scratch)/logs")
                .write(toFile: configPath, atomically: true, encoding: .utf8)
            let config = try MinersConfig.load(path: configPath)
            let supervisor = Supervisor(config: config, log: log, logger: logger) { config in
                ProcessLauncher(
                    executable: executable, configPath: config.file, databasePath: config.database,
                    gracePeriod: config.supervisor.gracePeriod, logDirectory: config.logDirectory, echo: false
                )
            }
            await supervisor.startAll()
            let pid: Int32
            do {
                pid = try await Self.waitRunning(supervisor, logFile: "\(scratch)/logs/\(cell.name).log")
            } catch {
                await supervisor.stopAll(reason: "matrix: the worker did not start")
                throw error
            }

            let target = Target(host: "127.0.0.1", port: port, hotkey: matrix.hotkey)
            let cellID = try store.startCell(run: run, seq: cell.index, name: cell.name, settings: cell.settingsJSON, target: "127.0.0.1:\(port)")
            let cpuBefore = Self.cpuSeconds(pid)
            let started = ContinuousClock.now
            let requests = matrix.load.requests
            let results = await LoadRunner(client: ValidatorClient(client: client), profile: profile(cell)).run(target) { _, done in
                if done % max(requests / 10, 1) == 0 || done == requests { progress("\(title): \(done)/\(requests) requests", false) }
            }
            let wall = (ContinuousClock.now - started).seconds
            let cpu = Self.cpuSeconds(pid).flatMap { after in cpuBefore.map { after - $0 } }
            await supervisor.stopAll(reason: "matrix cell done")
            try store.finishCell(cellID, results: results, workerCPU: cpu)
            let summary = SimulationSummary(results, wallSeconds: wall)
            let rankedCell = RankedCell(seq: cell.index, name: cell.name, settings: cell.settingsJSON, summary: summary, workerCPU: cpu)
            ranked.append(rankedCell)
            progress(
                "\(title): reward \(summary.meanReward.map { String(format: "%.3f", $0) } ?? "-"), "
                    + "complete \(summary.complete)/\(summary.requests), first chunk p50 "
                    + (summary.firstChunkP50.map { String(format: "%.0f ms", $0 * 1000) } ?? "-"),
                true
            )
        }
        return RankedCell.ranked(ranked)
    }

    var loadJSON: String { baseProfile.json }

    var baseProfile: LoadProfile {
        var profile = LoadProfile()
        profile.requests = matrix.load.requests
        profile.rate = matrix.load.rate
        profile.validators = matrix.load.validators
        profile.maxDuration = matrix.load.maxDuration
        profile.questions = .arithmetic(matrix.load.questionStyle)
        if let question = matrix.load.question { profile.questions = .fixed(text: question, reference: matrix.load.reference) }
        return profile
    }

    func profile(_ cell: MatrixConfig.Cell) -> LoadProfile {
        var profile = baseProfile
        profile.timeout = cell.validatorTimeout
        profile.concurrency = cell.concurrency
        return profile
    }

    func cellConfig(_ cell: MatrixConfig.Cell, port: Int, database: String, logDirectory: String) -> String {
        let timeout = switch cell.timeout {
        case .request: "request"
        case .fixed(let seconds): String(seconds)
        }
        return """
            # Made by `miners matrix \(matrix.file)`: \(cell.label)
            database: "\(database)"
            supervisor: {grace_period: 2, log_dir: "\(logDirectory)"}
            miners:
              - name: \(cell.name)
                hotkey: \(matrix.hotkey)
                port: \(port)
                streaming_batch_size: \(cell.batchSize)
                timeout: \(timeout)
                max_concurrent_streams: \(max(cell.concurrency, 64))
                backend: \(cell.backend.yaml)

            """
    }

    /// The worker's pid once it listens; an error with the end of its log if it does not within 30 s.
    static func waitRunning(_ supervisor: Supervisor, logFile: String) async throws -> Int32 {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let miner = await supervisor.status().miners.first {
                if miner.state == .running, let pid = miner.pid { return pid }
                if miner.state == .crashLooping { break }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let tail = (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
        throw CellError(description: "the worker did not start; the end of \(logFile):\n\(tail)")
    }

    /// utime + stime of a process, seconds; nil when it cannot be read.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A port the kernel just had free on loopback.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CellError(description: "cannot open a socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CellError(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
