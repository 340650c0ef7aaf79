import ArgumentParser
import Config
import Foundation
import Logging
import Simulator

struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Run a matrix of miner configurations against the validator simulator and rank them.",
        discussion: """
            The file (see configs/matrix.yaml) lists axes — backend, streaming_batch_size, \
            timeout (the worker's policy), validator_timeout, concurrency — and a load. Every \
            combination is a cell: a miner run by a supervisor (real worker processes) on a free \
            loopback port, loaded by `miners simulate` validators, its results stored in the \
            file's database next to the workers' own rows (sim_runs, sim_cells, sim_requests, \
            sim_chunks). Cells run one after another. The load's question_style poses the \
            questions as `miners simulate --question-style` does: einstein (the validator's query \
            around a math-dataset problem, the default), problem or plain.

            The table ranks the cells by REWARD (mean math_score, the einstein validator's reward, \
            0 for empty or failed answers), then COMPLETE (share with the final answer), then \
            FIRST (time to the first chunk, p50). PARTIAL and EMPTY are the other shares; LAT \
            p50 latency; CPU/REQ the worker's CPU time per request; STATUS the dendrite's codes. \
            `miners status --db DB --run ID` shows a stored run again.
            """
    )

    @Argument(help: "The matrix file (YAML).")
    var file: String

    @Option(name: .long, help: "Override the file's database.")
    var db: String?

    @Flag(name: .long, help: "Print the ranked cells as JSON.")
    var json = false

    func run() async throws {
        var matrix: MatrixConfig
        do {
            matrix = try MatrixConfig.load(path: file)
        } catch {
            printError("matrix error: \(error)")
            throw ExitCode(1)
        }
        if let db { matrix.database = db }
        var logger = Logger(label: "miners.matrix")
        logger.logLevel = .warning
        let cells = matrix.cells.count
        printError("matrix \(file): \(cells) cells × \(matrix.load.requests) requests; results in \(matrix.database)")
        let runner = MatrixRunner(matrix: matrix, executable: SuperviseCommand.executablePath(), logger: logger)
        let (run, ranked) = try await runner.run { line, final in progress(line, final: final) }
        if json {
            print(try MatrixFormat.json(run: run, ranked))
        } else {
            print(MatrixFormat.table(ranked))
            print("\nrun \(run); again with: miners status --db \(matrix.database) --run \(run)")
        }
    }
}

enum MatrixFormat {
    static func settings(_ json: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
    }

    static func table(_ ranked: [RankedCell]) -> String {
        let header = ["RANK", "CELL", "BACKEND", "BATCH", "TIMEOUT", "VALIDATOR", "CONC", "REWARD", "COMPLETE", "PARTIAL",
                      "EMPTY", "FIRST", "LAT", "CPU/REQ", "STATUS"]
        let rows: [[String]] = ranked.enumerated().map { rank, cell in
            let s = settings(cell.settings)
            let summary = cell.summary
            let share = { (count: Int) in String(format: "%.0f%%", Double(count) * 100 / Double(max(summary.requests, 1))) }
            let ms = { (value: Double?) in value.map { String(format: "%.0fms", $0 * 1000) } ?? "-" }
            let statuses = summary.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            return [
                String(rank + 1), cell.name, "\(s["backend"] ?? "-")", "\(s["streaming_batch_size"] ?? "-")",
                "\(s["timeout"] ?? "-")", "\(s["validator_timeout"] ?? "-")s", "\(s["concurrency"] ?? "-")",
                summary.meanReward.map { String(format: "%.3f", $0) } ?? "-", share(summary.complete), share(summary.partial),
                share(summary.empty), ms(summary.firstChunkP50), ms(summary.latencyP50),
                cell.cpuPerRequest.map { String(format: "%.2fms", $0 * 1000) } ?? "-", statuses,
            ]
        }
        return align([header] + rows)
    }

    static func json(run: Int64, _ ranked: [RankedCell]) throws -> String {
        struct Entry: Encodable {
            var rank: Int
            var cell: String
            var settings: [String: String]
            var summary: SimulationSummary
            var cpuPerRequestS: Double?
            enum CodingKeys: String, CodingKey { case rank, cell, settings, summary, cpuPerRequestS = "cpu_per_request_s" }
        }
        struct Output: Encodable {
            var run: Int64
            var cells: [Entry]
        }
        let entries = ranked.enumerated().map { rank, cell in
            Entry(rank: rank + 1, cell: cell.name, settings: settings(cell.settings).mapValues { "\($0)" }, summary: cell.summary, cpuPerRequestS: cell.cpuPerRequest)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(Output(run: run, cells: entries)), as: UTF8.self)
    }
}
