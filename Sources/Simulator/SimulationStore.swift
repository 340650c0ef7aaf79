import Foundation
import GRDB
import LogStore

/// Runs, cells and what each simulated validator got, in the log database (`sim_*` tables),
/// next to the workers' own rows.
public struct SimulationStore: Sendable {
    public let database: DatabaseQueue

    public init(path: String) throws {
        database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
    }

    public func startRun(kind: String, source: String, load: String) throws -> Int64 {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO sim_runs (kind, started_at, source, load) VALUES (?, ?, ?, ?)",
                arguments: [kind, Date().timeIntervalSince1970, source, load]
            )
            return db.lastInsertedRowID
        }
    }

    public func finishRun(_ run: Int64) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE sim_runs SET finished_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, run])
        }
    }

    public func startCell(run: Int64, seq: Int, name: String, settings: String, target: String) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO sim_cells (run_id, seq, name, settings, target, started_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [run, seq, name, settings, target, Date().timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    /// The cell's results, in one transaction.
    public func finishCell(_ cell: Int64, results: [ValidatorResult], workerCPU: Double?) throws {
        try database.write { db in
            let request = try db.makeStatement(sql: """
                INSERT INTO sim_requests (cell_id, validator_hotkey, uuid, nonce, timeout, sent_at, status, status_message,
                    first_chunk_s, total_s, chunks, bytes, oversize_chunks, final_answer, reward, reference, completion)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let chunk = try db.makeStatement(sql: "INSERT INTO sim_chunks (request_id, seq, offset_s, bytes) VALUES (?, ?, ?, ?)")
            for result in results {
                let values: [(any DatabaseValueConvertible)?] = [
                    cell, result.validator, result.uuid, result.nonce, result.timeout, result.sentAt, result.status,
                    result.statusMessage, result.firstChunk, result.total, result.chunks.count, result.bytes,
                    result.oversizeChunks, result.finalAnswerArrived, result.reward, result.reference.map { String($0) },
                    result.completion,
                ]
                try request.execute(arguments: StatementArguments(values))
                let id = db.lastInsertedRowID
                for (seq, piece) in result.chunks.enumerated() {
                    try chunk.execute(arguments: [id, seq, piece.offset, piece.bytes])
                }
            }
            try db.execute(
                sql: "UPDATE sim_cells SET finished_at = ?, worker_cpu_s = ? WHERE id = ?",
                arguments: [Date().timeIntervalSince1970, workerCPU, cell]
            )
        }
    }

    public struct CellRecord: Sendable {
        public var id: Int64
        public var seq: Int
        public var name: String
        public var settings: String
        public var workerCPU: Double?
        public var wallSeconds: Double
        public var results: [ValidatorResult]
    }

    public struct RunRecord: Sendable {
        public var id: Int64
        public var kind: String
        public var startedAt: Double
        public var source: String?
        public var load: String?
        public var cells: [CellRecord]
    }

    /// A stored run, its cells and their results, to rank again.
    public func run(_ id: Int64) throws -> RunRecord? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sim_runs WHERE id = ?", arguments: [id]) else { return nil }
            var cells: [CellRecord] = []
            for cell in try Row.fetchAll(db, sql: "SELECT * FROM sim_cells WHERE run_id = ? ORDER BY seq", arguments: [id]) {
                let cellID: Int64 = cell["id"]
                var chunks: [Int64: [ValidatorResult.Chunk]] = [:]
                for piece in try Row.fetchAll(db, sql: """
                    SELECT request_id, offset_s, bytes FROM sim_chunks
                    WHERE request_id IN (SELECT id FROM sim_requests WHERE cell_id = ?) ORDER BY request_id, seq
                    """, arguments: [cellID]) {
                    chunks[piece[0], default: []].append(.init(offset: piece[1], bytes: piece[2]))
                }
                let results = try Row.fetchAll(db, sql: "SELECT * FROM sim_requests WHERE cell_id = ? ORDER BY id", arguments: [cellID]).map { r in
                    ValidatorResult(
                        validator: r["validator_hotkey"], uuid: r["uuid"], nonce: r["nonce"], timeout: r["timeout"],
                        sentAt: r["sent_at"], status: r["status"], statusMessage: r["status_message"],
                        chunks: chunks[r["id"]] ?? [], completion: r["completion"], total: r["total_s"],
                        oversizeChunks: r["oversize_chunks"], reference: (r["reference"] as String?).flatMap(Double.init)
                    )
                }
                let started: Double = cell["started_at"]
                let finished: Double? = cell["finished_at"]
                cells.append(CellRecord(
                    id: cellID, seq: cell["seq"], name: cell["name"], settings: cell["settings"], workerCPU: cell["worker_cpu_s"],
                    wallSeconds: (finished ?? started) - started, results: results
                ))
            }
            return RunRecord(id: id, kind: row["kind"], startedAt: row["started_at"], source: row["source"], load: row["load"], cells: cells)
        }
    }

    /// The newest run's id.
    public func latestRun() throws -> Int64? {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM sim_runs") }
    }
}
