import Foundation
import GRDB

/// What of this database has been replicated to the fleet's PostgreSQL (`fleet:`): the
/// progress the replicator keeps in `replication_progress` (moved only after PostgreSQL
/// committed), read by retention (never deletes what is not replicated) and `miners status`.
public enum ReplicationProgress {
    /// The replicated tables, in the order `status` lists them.
    public static let tables = ["requests", "batches", "timeouts", "lifecycle", "chain_events", "log_losses", "standing", "alerts"]
    /// Tables followed by their own id. `batches` and `timeouts` go with their request, under
    /// the `requests` progress (they are written in the same transaction as it).
    public static let idTables = ["requests", "lifecycle", "chain_events", "log_losses", "standing", "alerts"]

    /// The last replicated local id per table (absent: nothing replicated yet). Empty when the
    /// database predates replication.
    public static func lastIDs(_ db: Database) throws -> [String: Int64] {
        guard try db.tableExists("replication_progress") else { return [:] }
        var result: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT table_name, last_local_id FROM replication_progress") {
            result[row[0]] = row[1]
        }
        return result
    }

    /// The id below which (inclusive) rows of `table` are replicated; batches and timeouts
    /// follow their requests.
    public static func replicatedID(of table: String, in ids: [String: Int64]) -> Int64 {
        ids[["batches", "timeouts"].contains(table) ? "requests" : table] ?? 0
    }

    public struct TableLag: Sendable, Codable, Equatable {
        public var table: String
        /// Rows not yet replicated.
        public var backlog: Int64
        /// Rows replicated so far (by this database).
        public var replicated: Int64
        /// Unix seconds of the oldest row not yet replicated (its `finished_at` or `at`).
        public var oldestUnreplicatedAt: Double?
    }

    public struct Status: Sendable, Codable, Equatable {
        public var host: String?
        public var lastSuccessAt: Double?
        public var lastError: String?
        public var lastErrorAt: Double?
        /// Rows per second of the last backlog drained.
        public var drainRate: Double?
        public var tables: [TableLag]
        /// Age of the oldest row not yet replicated, seconds; 0 when nothing waits.
        public var lagSeconds: Double
        public var backlog: Int64 { tables.reduce(0) { $0 + $1.backlog } }
    }

    /// Replication turned off (`fleet:` removed): `status` and the metrics stop showing a lag
    /// that would only grow. The progress stays: replication added again resumes from it.
    public static func markOff(_ db: Database) throws {
        guard try db.tableExists("replication_state") else { return }
        try db.execute(sql: "DELETE FROM replication_state")
    }

    /// The lag of each table as of `now`; nil when replication never ran on this database or is off.
    public static func status(_ db: Database, now: Double = Date().timeIntervalSince1970) throws -> Status? {
        guard try db.tableExists("replication_state"),
              let state = try Row.fetchOne(db, sql: "SELECT host, last_success_at, last_error, last_error_at, drain_rate FROM replication_state WHERE id = 1")
        else { return nil }
        let ids = try lastIDs(db)
        var counts: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT table_name, rows FROM replication_progress") { counts[row[0]] = row[1] }
        var lags: [TableLag] = []
        for table in tables where try db.tableExists(table) {
            let last = replicatedID(of: table, in: ids)
            let (backlog, oldest): (Int64, Double?)
            switch table {
            case "batches":
                backlog = try Int64.fetchOne(db, sql: "SELECT count(*) FROM batches WHERE request_id > ?", arguments: [last]) ?? 0
                oldest = try Double.fetchOne(db, sql: """
                    SELECT CAST(r.finished_at AS REAL) FROM requests r WHERE r.id = (SELECT min(request_id) FROM batches WHERE request_id > ?)
                    """, arguments: [last])
            case "timeouts":
                backlog = try Int64.fetchOne(db, sql: "SELECT count(*) FROM timeouts WHERE request_id > ?", arguments: [last]) ?? 0
                oldest = try Double.fetchOne(db, sql: "SELECT CAST(at AS REAL) FROM timeouts WHERE request_id > ? ORDER BY request_id LIMIT 1", arguments: [last])
            case "requests":
                backlog = try Int64.fetchOne(db, sql: "SELECT count(*) FROM requests WHERE id > ?", arguments: [last]) ?? 0
                oldest = try Double.fetchOne(db, sql: "SELECT CAST(finished_at AS REAL) FROM requests WHERE id > ? ORDER BY id LIMIT 1", arguments: [last])
            default:
                backlog = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE id > ?", arguments: [last]) ?? 0
                oldest = try Double.fetchOne(db, sql: "SELECT CAST(at AS REAL) FROM \(table) WHERE id > ? ORDER BY id LIMIT 1", arguments: [last])
            }
            lags.append(TableLag(table: table, backlog: backlog, replicated: counts[table] ?? 0, oldestUnreplicatedAt: backlog > 0 ? oldest : nil))
        }
        let oldest = lags.compactMap(\.oldestUnreplicatedAt).min()
        return Status(
            host: state[0], lastSuccessAt: state[1], lastError: state[2], lastErrorAt: state[3], drainRate: state[4],
            tables: lags, lagSeconds: oldest.map { max(0, now - $0) } ?? 0
        )
    }
}
