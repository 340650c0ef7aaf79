import Config
import Foundation
import GRDB
import LogStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Copies this host's new log rows from SQLite to the fleet's PostgreSQL, continuously, in
/// batches, off the request path (workers write SQLite as always; this reads it on its own
/// connection).
///
/// Guarantees: at least once and idempotent. Rows go in id order, keyed by (host, local id)
/// (batches by (host, request id, seq)) with ON CONFLICT: a row sent twice is stored once.
/// The local progress (`replication_progress`) moves only after PostgreSQL committed, so a
/// crash between the two sends the same rows again, harmlessly. Requests go with their
/// batches and timeouts in one transaction; a request whose outcome is corrected after it was
/// sent (`replication_updates`, filled by a trigger) is sent again (ON CONFLICT DO UPDATE).
/// While PostgreSQL is unreachable nothing waits on it but this service: it retries with
/// backoff (1 s doubling to 60 s) and the backlog drains when the server is back; retention
/// keeps every row not yet replicated.
public final class Replicator: Service, Sendable {
    public struct Options: Sendable {
        /// Rows per INSERT statement (and per transaction for tables other than requests).
        public var batchRows = 1000
        /// Bytes of row data per transaction, about (a huge row goes alone).
        public var batchBytes = 8 << 20
        /// Batch rows per requests transaction, about.
        public var batchesPerTransaction = 20_000
        /// Pause when everything is replicated, seconds.
        public var idleInterval = 1.0
        public var backoffInitial = 1.0
        public var backoffMax = 60.0
        /// Every PostgreSQL transaction, seconds.
        public var queryTimeout = 60.0
        /// Progress lines while a backlog drains, seconds apart.
        public var progressEvery = 10.0
        /// At graceful shutdown (the workers have stopped by then), the last rows are sent for
        /// at most this long, seconds; what remains goes after the next start.
        public var finalRound = 5.0
        /// Tests: called after PostgreSQL committed a transaction, before the local progress
        /// moves (a throw stands for a crash there).
        public var afterCommit: (@Sendable (String) throws -> Void)?
        /// Tests: called after each round of the service's loop with the rows it sent (after a
        /// round that sent none, the loop pauses for `idleInterval`).
        public var afterRound: (@Sendable (Int) -> Void)?

        public init() {}
    }

    let fleet: FleetConfig
    let database: DatabaseQueue
    let options: Options
    let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var columns: [String: [Column]] = [:]
        var drainStart: ContinuousClock.Instant?
        var drained: Int = 0
        var lastProgressLog: ContinuousClock.Instant?
        var failing = false
        var lastErrorLog: ContinuousClock.Instant?
    }

    /// A replicated column: its SQLite name and type (what it is cast to when read).
    struct Column: Sendable {
        enum Kind: Sendable { case integer, real, text }
        var name: String
        var kind: Kind
        var pgType: String {
            switch kind {
            case .integer: "bigint"
            case .real: "double precision"
            case .text: "text"
            }
        }
    }

    enum Value: Sendable {
        case null, integer(Int64), real(Double), text(String)
        var bytes: Int { if case .text(let text) = self { text.utf8.count + 8 } else { 8 } }
    }

    /// `database` is a connection of the replicator's own (its reads never hold up the writer).
    public init(fleet: FleetConfig, database: DatabaseQueue, options: Options = Options(), logger: Logger) {
        self.fleet = fleet
        self.database = database
        self.options = options
        self.logger = logger
    }

    /// A client for the fleet's server; run it (`client.run()`) beside the replicator.
    public static func makeClient(_ fleet: FleetConfig) -> PostgresClient {
        var quiet = Logger(label: "miners.fleet.postgres")
        quiet.logLevel = .critical
        return PostgresClient(configuration: FleetDatabase.clientConfiguration(fleet.postgres), backgroundLogger: quiet)
    }

    public func run() async throws {
        let client = Self.makeClient(fleet)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try? await cancelWhenGracefulShutdown { try await self.loop(client) }
            group.cancelAll()
        }
        // Graceful shutdown: the supervisor's group stops the workers first, so their last rows
        // are in SQLite now. Sent on a connection of its own (the client's pool closed itself at
        // the shutdown), within a bound and not when the server is failing; what is left goes
        // after the next start.
        guard Task.isShuttingDownGracefully, !Task.isCancelled, !state.withLock(\.failing), !state.withLock(\.columns.isEmpty),
              options.finalRound > 0 else { return }
        do {
            // The server bounds each statement and lock wait too: a query in flight does not
            // end when its task is cancelled.
            let sent = try await withTimeout(options.finalRound, "the last replication round") {
                try await FleetDatabase.withConnections(self.fleet.postgres, count: 1, timeout: self.options.finalRound, logger: self.logger) {
                    try await self.drain($0[0], prepare: false)
                }
            }
            logger.notice("fleet: \(sent) rows replicated at shutdown")
        } catch {
            logger.warning("fleet: the last round at shutdown stopped (\(describe(error, hiding: secrets))); the rest goes after the next start")
        }
    }

    var secrets: [Secret] { [fleet.url] + (fleet.postgres.password.map { [$0] } ?? []) }

    /// Replicates until cancelled: rounds back to back while there is a backlog, a pause when
    /// there is none, backoff after a failure.
    public func loop(_ client: some FleetSession) async throws {
        var backoff = options.backoffInitial
        var prepared = false
        logger.notice("fleet: replicating the log to \(fleet.postgres) as host '\(fleet.host)'")
        // `miners status` shows replication from the start, even before the server answers
        // (`prepare` writes the same rows again: a failure here only delays that).
        do {
            try await database.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO replication_state (id) VALUES (1)")
                for table in ReplicationProgress.tables {
                    try db.execute(sql: "INSERT OR IGNORE INTO replication_progress (table_name, last_local_id, rows, updated_at) VALUES (?, 0, 0, ?)",
                                   arguments: [table, Date().timeIntervalSince1970])
                }
            }
        } catch {
            logger.warning("fleet: cannot note the replication's start in the log database (\(error)); trying again with the first round")
        }
        while true {
            try Task.checkCancellation()
            do {
                if !prepared {
                    try await prepare(client)
                    prepared = true
                }
                let sent = try await round(client)
                backoff = options.backoffInitial
                try noteSuccess(sent: sent)
                options.afterRound?(sent)
                if sent == 0 { try await Task.sleep(for: .seconds(options.idleInterval)) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                noteFailure(error, retryIn: backoff)
                try await Task.sleep(for: .seconds(backoff))
                backoff = min(backoff * 2, options.backoffMax)
            }
        }
    }

    /// Sends every row waiting, then returns the rows sent (tests; `loop` for the service).
    /// `prepare: false` when the schema was read already (the last round at shutdown).
    @discardableResult
    public func drain(_ client: some FleetSession, prepare: Bool = true) async throws -> Int {
        if prepare { try await self.prepare(client) }
        var total = 0
        while true {
            let sent = try await round(client)
            try noteSuccess(sent: sent)
            if sent == 0 { return total }
            total += sent
        }
    }

    /// Migrates the server, reads both sides' columns, makes sure the local progress rows exist
    /// (from then on a corrected request is queued to be sent again).
    func prepare(_ client: some FleetSession) async throws {
        try await FleetDatabase.migrate(client, logger: logger, timeout: options.queryTimeout * 2)
        let serverColumns = try await withTimeout(options.queryTimeout, "reading the fleet schema") { [logger] in
            var result: [String: Set<String>] = [:]
            let rows = try await client.execute("""
                SELECT table_name::text, column_name::text FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = ANY(\(ReplicationProgress.tables))
                """, logger: logger)
            for try await (table, column) in rows.decode((String, String).self) { result[table, default: []].insert(column) }
            return result
        }
        let host = fleet.host
        let columns = try await database.write { db -> [String: [Column]] in
            try db.execute(sql: "INSERT OR IGNORE INTO replication_state (id) VALUES (1)")
            let previous = try String.fetchOne(db, sql: "SELECT host FROM replication_state WHERE id = 1")
            if let previous, previous != host, try Int64.fetchOne(db, sql: "SELECT max(last_local_id) FROM replication_progress") ?? 0 > 0 {
                // Rows already sent keep their host; new ones go under the new name.
                try db.execute(sql: "UPDATE replication_state SET last_error = ?, last_error_at = ? WHERE id = 1", arguments: [
                    "fleet.host changed from '\(previous)' to '\(host)': rows sent before are under the old name", Date().timeIntervalSince1970,
                ])
            }
            try db.execute(sql: "UPDATE replication_state SET host = ? WHERE id = 1", arguments: [host])
            for table in ReplicationProgress.tables {
                try db.execute(sql: "INSERT OR IGNORE INTO replication_progress (table_name, last_local_id, rows, updated_at) VALUES (?, 0, 0, ?)",
                               arguments: [table, Date().timeIntervalSince1970])
            }
            var result: [String: [Column]] = [:]
            for table in ReplicationProgress.tables {
                var list: [Column] = []
                for row in try Row.fetchAll(db, sql: "SELECT name, upper(type) FROM pragma_table_info(?) ORDER BY cid", arguments: [table]) {
                    let name: String = row[0]
                    let type: String = row[1]
                    let kind: Column.Kind = type.contains("INT") ? .integer : (type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB")) ? .real : .text
                    list.append(Column(name: name, kind: kind))
                }
                result[table] = list
            }
            return result
        }
        var usable: [String: [Column]] = [:]
        for (table, list) in columns {
            let server = serverColumns[table] ?? []
            guard !server.isEmpty else { throw ReplicationError.missingTable(table) }
            let missing = list.filter { !server.contains($0.name == "id" ? "local_id" : $0.name) }.map(\.name)
            if !missing.isEmpty {
                logger.warning("fleet: the fleet database's \(table) has no column \(missing.joined(separator: ", ")); those values are not replicated (a migrations/postgres/ file is missing)")
            }
            usable[table] = list.filter { server.contains($0.name == "id" ? "local_id" : $0.name) }
        }
        state.withLock { $0.columns = usable }
    }

    enum ReplicationError: Error, CustomStringConvertible {
        case missingTable(String)
        var description: String {
            switch self {
            case .missingTable(let table): "the fleet database has no table \(table) (its migrations/postgres/ files did not run?)"
            }
        }
    }

    /// One transaction per table group (requests with their batches and timeouts, then each
    /// event table), and the corrected requests; returns the rows sent.
    func round(_ client: some FleetSession) async throws -> Int {
        // A server that went away is noticed in seconds (the pool would keep a lease waiting
        // while it retries connecting), not after a whole transaction's timeout.
        let logger = self.logger
        _ = try await withTimeout(min(options.queryTimeout, 15), "reaching the fleet database") {
            try await client.execute("SELECT 1", logger: logger)
        }
        var sent = try await replicateRequests(client)
        sent += try await replicateUpdates(client)
        for table in ReplicationProgress.idTables where table != "requests" {
            sent += try await replicateTable(table, client)
        }
        return sent
    }

    private func columns(_ table: String) -> [Column] { state.withLock { $0.columns[table] ?? [] } }

    /// `SELECT` of `columns`, each cast to its declared type (a hostile text in a number column
    /// arrives as a number, as SQLite reads it).
    private static func select(_ columns: [Column], from table: String) -> String {
        let list = columns.map { column in
            switch column.kind {
            case .integer: "CAST(\(column.name) AS INTEGER)"
            case .real: "CAST(\(column.name) AS REAL)"
            // As bytes: a text with a NUL byte would be cut there, and bytes that are not UTF-8
            // are repaired when decoded.
            case .text: "CAST(\(column.name) AS BLOB)"
            }
        }
        return "SELECT \(list.joined(separator: ", ")) FROM \(table)"
    }

    private static func values(_ row: Row, count: Int) -> [Value] {
        (0..<count).map { index in
            switch row[index] as DatabaseValue {
            case let value where value.isNull: .null
            case let value:
                switch value.storage {
                case .int64(let number): .integer(number)
                case .double(let number): .real(number)
                // PostgreSQL's text holds no NUL (and only UTF-8, which String is).
                case .string(let text): .text(text.contains("\0") ? text.replacingOccurrences(of: "\0", with: "\u{FFFD}") : text)
                case .blob(let data): .text(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: "\u{FFFD}"))
                case .null: .null
                }
            }
        }
    }

    /// Rows up to the byte budget (at least one).
    private func trimmed(_ rows: [[Value]]) -> [[Value]] {
        var bytes = 0
        var count = 0
        for row in rows {
            bytes += row.reduce(0) { $0 + $1.bytes }
            if count > 0, bytes > options.batchBytes { break }
            count += 1
        }
        return Array(rows.prefix(count))
    }

    /// Multi-row INSERTs of `rows` into `table` (host first), within PostgreSQL's 65535
    /// parameters per statement; returns the rows inserted (a row the server has already,
    /// from a transaction whose local progress was lost, or a correction, counts 0).
    @discardableResult
    private static func insert(
        _ connection: PostgresConnection, table: String, columns: [Column], rows: [[Value]], host: String,
        conflict: String, logger: Logger
    ) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        var inserted = 0
        let names = ["host"] + columns.map { $0.name == "id" ? "local_id" : $0.name }
        let types = ["text"] + columns.map(\.pgType)
        let perStatement = max(1, min(1000, 65_000 / names.count))
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            var bindings = PostgresBindings(capacity: chunk.count * names.count)
            var sql = "WITH written AS (INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES "
            var index = 1
            for (rowNumber, row) in chunk.enumerated() {
                sql += rowNumber == 0 ? "(" : ", ("
                for (column, type) in types.enumerated() {
                    sql += (column == 0 ? "" : ", ") + "$\(index)::\(type)"
                    index += 1
                }
                sql += ")"
                bindings.append(host)
                for value in row {
                    switch value {
                    case .null: bindings.appendNull()
                    case .integer(let number): bindings.append(number)
                    case .real(let number): bindings.append(number)
                    case .text(let text): bindings.append(text)
                    }
                }
            }
            // xmax = 0: a row inserted, not one updated by the upsert (a correction).
            sql += " \(conflict) RETURNING xmax = 0 AS inserted) SELECT count(*) FILTER (WHERE inserted) FROM written"
            for try await count in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).decode(Int64.self) {
                inserted += Int(clamping: count)
            }
            start += perStatement
        }
        return inserted
    }

    /// The server's copy of the progress, in the transaction of the rows. Its `rows` adds what
    /// the transaction inserted, not what it sent: a transaction sent again after its local
    /// progress was lost (a crash, or a timeout while it committed) does not count twice.
    private static func updateServerProgress(
        _ connection: PostgresConnection, host: String, progress: [(table: String, last: Int64, rows: Int)], inserted: [Int],
        logger: Logger
    ) async throws {
        for (item, inserted) in zip(progress, inserted) {
            try await connection.query("""
                INSERT INTO replication (host, table_name, last_local_id, rows, updated_at)
                VALUES (\(host), \(item.table), \(item.last), \(Int64(inserted)), extract(epoch FROM now()))
                ON CONFLICT (host, table_name) DO UPDATE SET last_local_id = greatest(replication.last_local_id, EXCLUDED.last_local_id),
                    rows = replication.rows + EXCLUDED.rows, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
    }

    /// Moves the local progress (after PostgreSQL committed).
    private func commitLocally(_ progress: [(table: String, last: Int64, rows: Int)]) async throws {
        if let afterCommit = options.afterCommit { try afterCommit(progress.map(\.table).joined(separator: ",")) }
        try await database.write { db in
            let now = Date().timeIntervalSince1970
            for item in progress {
                try db.execute(sql: """
                    UPDATE replication_progress SET last_local_id = max(last_local_id, ?), rows = rows + ?, updated_at = ? WHERE table_name = ?
                    """, arguments: [item.last, item.rows, now, item.table])
            }
            try db.execute(sql: "UPDATE replication_state SET last_success_at = ? WHERE id = 1", arguments: [now])
        }
    }

    private static func upsert(_ columns: [Column]) -> String {
        let set = columns.filter { $0.name != "id" }.map { "\($0.name) = EXCLUDED.\($0.name)" }
        // A row sent again unchanged is left alone (no update, no update trigger's rows).
        return "ON CONFLICT (host, local_id) DO UPDATE SET " + set.joined(separator: ", ")
            + " WHERE (requests.*) IS DISTINCT FROM (EXCLUDED.*)"
    }

    /// The next requests after the progress, with their batches and timeouts, in one transaction.
    func replicateRequests(_ client: some FleetSession) async throws -> Int {
        let requestColumns = columns("requests"), batchColumns = columns("batches"), timeoutColumns = columns("timeouts")
        let options = self.options
        let read = try await database.read { db -> (requests: [[Value]], batches: [[Value]], timeouts: [[Value]], last: Int64)? in
            let after = try Int64.fetchOne(db, sql: "SELECT last_local_id FROM replication_progress WHERE table_name = 'requests'") ?? 0
            let rows = try Row.fetchAll(db, sql: Self.select(requestColumns, from: "requests") + " WHERE id > ? ORDER BY id LIMIT ?",
                                        arguments: [after, options.batchRows])
            guard !rows.isEmpty else { return nil }
            // Few enough batch rows per transaction: the `batches` count of each request.
            let batchesIndex = requestColumns.firstIndex { $0.name == "batches" }
            var taken: [[Value]] = []
            var batchCount = 0
            for row in rows {
                let values = Self.values(row, count: requestColumns.count)
                if let batchesIndex, case .integer(let count) = values[batchesIndex] { batchCount += Int(clamping: count) }
                if !taken.isEmpty, batchCount > options.batchesPerTransaction { break }
                taken.append(values)
            }
            taken = self.trimmed(taken)
            guard case .integer(let last) = taken.last![0] else { return nil }
            let batches = try Row.fetchAll(db, sql: Self.select(batchColumns, from: "batches") + " WHERE request_id > ? AND request_id <= ? ORDER BY request_id, seq",
                                           arguments: [after, last]).map { Self.values($0, count: batchColumns.count) }
            let timeouts = try Row.fetchAll(db, sql: Self.select(timeoutColumns, from: "timeouts") + " WHERE request_id > ? AND request_id <= ? ORDER BY id",
                                            arguments: [after, last]).map { Self.values($0, count: timeoutColumns.count) }
            return (taken, batches, timeouts, last)
        }
        guard let read else { return 0 }
        let host = fleet.host, logger = self.logger
        let progress: [(table: String, last: Int64, rows: Int)] = [
            ("requests", read.last, read.requests.count), ("batches", read.last, read.batches.count), ("timeouts", read.last, read.timeouts.count),
        ]
        try await withTimeout(options.queryTimeout, "sending \(read.requests.count) requests") {
            try await client.inTransaction(logger: logger) { connection in
                let inserted = [
                    try await Self.insert(connection, table: "requests", columns: requestColumns, rows: read.requests, host: host,
                                          conflict: Self.upsert(requestColumns), logger: logger),
                    try await Self.insert(connection, table: "batches", columns: batchColumns, rows: read.batches, host: host,
                                          conflict: "ON CONFLICT (host, request_id, seq) DO NOTHING", logger: logger),
                    try await Self.insert(connection, table: "timeouts", columns: timeoutColumns, rows: read.timeouts, host: host,
                                          conflict: "ON CONFLICT (host, local_id) DO NOTHING", logger: logger),
                ]
                try await Self.updateServerProgress(connection, host: host, progress: progress, inserted: inserted, logger: logger)
            }
        }
        try await commitLocally(progress)
        return read.requests.count + read.batches.count + read.timeouts.count
    }

    /// Requests corrected after they were sent: sent again, then taken off the queue (unless
    /// corrected once more meanwhile).
    func replicateUpdates(_ client: some FleetSession) async throws -> Int {
        let requestColumns = columns("requests")
        let limit = options.batchRows
        let read = try await database.read { db -> (rows: [[Value]], queued: [(Int64, Int64)]) in
            let queued = try Row.fetchAll(db, sql: "SELECT request_id, version FROM replication_updates ORDER BY request_id LIMIT ?", arguments: [limit])
                .map { ($0[0] as Int64, $0[1] as Int64) }
            guard !queued.isEmpty else { return ([], []) }
            let after = try Int64.fetchOne(db, sql: "SELECT last_local_id FROM replication_progress WHERE table_name = 'requests'") ?? 0
            // Those not sent yet go with their new values anyway.
            let ids = queued.map(\.0).filter { $0 <= after }.map(String.init).joined(separator: ",")
            let rows = ids.isEmpty ? [] : try Row.fetchAll(db, sql: Self.select(requestColumns, from: "requests") + " WHERE id IN (\(ids)) ORDER BY id")
                .map { Self.values($0, count: requestColumns.count) }
            return (rows, queued)
        }
        guard !read.queued.isEmpty else { return 0 }
        let host = fleet.host, logger = self.logger
        if !read.rows.isEmpty {
            try await withTimeout(options.queryTimeout, "sending \(read.rows.count) corrected requests") {
                try await client.inTransaction(logger: logger) { connection in
                    try await Self.insert(connection, table: "requests", columns: requestColumns, rows: read.rows, host: host,
                                          conflict: Self.upsert(requestColumns), logger: logger)
                }
            }
        }
        try await database.write { db in
            for (id, version) in read.queued {
                try db.execute(sql: "DELETE FROM replication_updates WHERE request_id = ? AND version = ?", arguments: [id, version])
            }
        }
        return read.rows.count
    }

    /// The next rows of an event table (inserted only, never updated).
    func replicateTable(_ table: String, _ client: some FleetSession) async throws -> Int {
        let tableColumns = columns(table)
        let limit = options.batchRows
        let rows = try await database.read { db -> [[Value]] in
            guard try db.tableExists(table) else { return [] }
            let after = try Int64.fetchOne(db, sql: "SELECT last_local_id FROM replication_progress WHERE table_name = ?", arguments: [table]) ?? 0
            return try Row.fetchAll(db, sql: Self.select(tableColumns, from: table) + " WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit])
                .map { Self.values($0, count: tableColumns.count) }
        }
        let taken = trimmed(rows)
        guard case .integer(let last) = taken.last?[0] else { return 0 }
        let host = fleet.host, logger = self.logger
        let progress: [(table: String, last: Int64, rows: Int)] = [(table, last, taken.count)]
        try await withTimeout(options.queryTimeout, "sending \(taken.count) \(table) rows") {
            try await client.inTransaction(logger: logger) { connection in
                let inserted = try await Self.insert(connection, table: table, columns: tableColumns, rows: taken, host: host,
                                                    conflict: "ON CONFLICT (host, local_id) DO NOTHING", logger: logger)
                try await Self.updateServerProgress(connection, host: host, progress: progress, inserted: [inserted], logger: logger)
            }
        }
        try await commitLocally(progress)
        return taken.count
    }

    // MARK: - Progress, drain rate and errors

    private func noteSuccess(sent: Int) throws {
        let now = ContinuousClock.now
        enum Line { case none, recovered, progress(Int, Double), drained(Int, Double) }
        let line = state.withLock { state -> Line in
            var line = Line.none
            if state.failing {
                state.failing = false
                line = .recovered
            }
            if sent > 0 {
                if state.drainStart == nil {
                    state.drainStart = now
                    state.drained = 0
                    state.lastProgressLog = now
                }
                state.drained += sent
                if let last = state.lastProgressLog, now - last >= .seconds(options.progressEvery), let start = state.drainStart {
                    state.lastProgressLog = now
                    line = .progress(state.drained, (now - start).seconds)
                }
            } else if let start = state.drainStart {
                state.drainStart = nil
                // A backlog, not the trickle of a live host.
                if state.drained > options.batchRows { line = .drained(state.drained, (now - start).seconds) }
            }
            return line
        }
        switch line {
        case .none: break
        case .recovered:
            logger.notice("fleet: the fleet database is reachable again; sending the backlog")
        case .progress(let rows, let seconds):
            let backlog = (try? database.read { try ReplicationProgress.status($0)?.backlog }) ?? nil
            logger.info("fleet: \(rows) rows sent in \(Int(seconds)) s (\(Int(Double(rows) / max(seconds, 0.001))) rows/s)\(backlog.map { ", \($0) rows still to send" } ?? "")")
        case .drained(let rows, let seconds):
            let rate = Double(rows) / max(seconds, 0.001)
            logger.notice("fleet: backlog sent: \(rows) rows in \(String(format: "%.1f", seconds)) s (\(Int(rate)) rows/s)")
            try? database.write { try $0.execute(sql: "UPDATE replication_state SET drain_rate = ? WHERE id = 1", arguments: [rate]) }
        }
    }

    private func noteFailure(_ error: any Error, retryIn delay: Double) {
        let text = describe(error, hiding: secrets)
        let now = ContinuousClock.now
        let log = state.withLock { state -> Bool in
            state.failing = true
            state.drainStart = nil
            // The first failure, then a line a minute at most.
            if let last = state.lastErrorLog, now - last < .seconds(60) { return false }
            state.lastErrorLog = now
            return true
        }
        if log { logger.warning("fleet: replication failed: \(text); retrying in \(Int(delay)) s (nothing is lost: rows wait in SQLite)") }
        try? database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO replication_state (id) VALUES (1)")
            try db.execute(sql: "UPDATE replication_state SET last_error = ?, last_error_at = ? WHERE id = 1", arguments: [text, Date().timeIntervalSince1970])
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
