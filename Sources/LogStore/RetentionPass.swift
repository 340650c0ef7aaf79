import Foundation
import GRDB

/// One round of retention over a log database: rolls every settled hour up, then deletes what
/// is past its horizon in small transactions (so the workers' writes go on between them), then
/// gives free pages back to the file system. Safe to stop at any point and run again: each
/// transaction moves `retention_state` forward with the rows it touched.
public struct RetentionPass: Sendable {
    public struct Progress: Sendable, Equatable, CustomStringConvertible {
        public var hoursRolledUp = 0
        public var batchesDeleted = 0
        public var requestsDeleted = 0
        public var eventsDeleted = 0
        public var rollupsDeleted = 0
        public var pagesFreed = 0

        public var isEmpty: Bool { self == Progress() }
        public var description: String {
            "\(hoursRolledUp) hours rolled up; deleted \(requestsDeleted) requests, \(batchesDeleted) batch rows, "
                + "\(eventsDeleted) event rows, \(rollupsDeleted) rollup rows; \(pagesFreed) pages returned to the file system"
        }
    }

    public let database: DatabaseQueue
    /// How long each kind of row is kept, in seconds; nil keeps it forever (`retention:`).
    public let batches: Double?
    public let requests: Double?
    public let rollups: Double?
    /// Rows per delete transaction.
    public var chunk = 500
    /// Fleet replication (`fleet:` set): rows above their table's `replication_progress` id
    /// (not yet in PostgreSQL) are never deleted; batches and timeouts follow their requests.
    public var keepUnreplicated = false
    /// The last replicated id per table, read at the start of `run` when `keepUnreplicated`.
    private var replicated: [String: Int64]?
    /// Hours rolled up are those that ended this long ago: a request is written when it ends,
    /// up to `max_request_timeout` (an hour at most) after it was received.
    public static let settle = 2 * 3600.0
    /// Between transactions: lets the workers' writers in.
    let pause: @Sendable () async -> Void

    public init(
        database: DatabaseQueue, batches: Double?, requests: Double?, rollups: Double?,
        pause: @escaping @Sendable () async -> Void = { try? await Task.sleep(for: .milliseconds(5)) }
    ) {
        self.database = database
        self.batches = batches
        self.requests = requests
        self.rollups = rollups
        self.pause = pause
    }

    /// Runs the round as of `now` (Unix seconds); stops early, with what it did, when cancelled.
    /// `report` hears the progress after each step, for long first rounds.
    public func run(now: Double, report: @Sendable (Progress) -> Void = { _ in }) async throws -> Progress {
        var pass = self
        if keepUnreplicated { pass.replicated = try await database.read { try ReplicationProgress.lastIDs($0) } }
        return try await pass.runKeeping(now: now, report: report)
    }

    private func runKeeping(now: Double, report: @Sendable (Progress) -> Void) async throws -> Progress {
        var progress = Progress()
        let settled = RequestRollups.hourStart(now - Self.settle)
        try await rollUp(until: settled, &progress)
        report(progress)
        var state = try await database.read { try RetentionState.read($0) }
        // Raw rows go only once their hours are rolled up (and never past what a round rolls
        // up, whatever a hand-edited `rolled_until` says). A deletion a stopped round left half
        // done (its boundary already moved, see `deleteBatches`) goes on at the same cutoff.
        func cutoff(_ horizon: Double?) -> Double? {
            horizon.map { min(RequestRollups.hourStart(now - $0), state.rolledUntil, settled) }.flatMap { $0 > 0 ? $0 : nil }
        }
        if let until = cutoff(batches), until >= state.batchesUntil {
            progress.batchesDeleted += try await deleteBatches(before: until)
            report(progress)
        }
        state = try await database.read { try RetentionState.read($0) }
        if let until = cutoff(requests), until >= state.requestsUntil {
            progress.requestsDeleted += try await deleteRequests(before: until)
            report(progress)
        }
        if let requests {
            progress.eventsDeleted += try await deleteEvents(before: now - requests)
        }
        if let horizon = rollups {
            progress.rollupsDeleted += try await deleteRollups(before: RequestRollups.hourStart(now - horizon))
        }
        progress.pagesFreed = try await vacuum()
        report(progress)
        return progress
    }

    /// Rolls up each hour from the last rolled one to `until`, one transaction an hour, after
    /// adding to their hours the rows written late (a journal replayed after a long stop) into
    /// hours already rolled up. Hours without a request have nothing to roll up.
    func rollUp(until: Double, _ progress: inout Progress) async throws {
        let state = try await database.read { try RetentionState.read($0) }
        // Rows written from here on are newer than `rolledID`: the next round sees them.
        let written = try await database.read { try Int64.fetchOne($0, sql: "SELECT coalesce(max(id), 0) FROM requests") ?? 0 }
        let (stale, hours) = try await database.read { db -> ([Double], [Double]) in
            let stale = try Double.fetchAll(db, sql: """
                SELECT DISTINCT CAST(received_at / 3600 AS INTEGER) * 3600.0 FROM requests
                WHERE id > ? AND id <= ? AND received_at < ? AND received_at >= 0
                """, arguments: [state.rolledID, written, state.rolledUntil])
            var start = state.rolledUntil
            if start == 0 {
                // Nothing logged yet: nothing to roll up before the first request.
                start = try Double.fetchOne(db, sql: "SELECT min(received_at) FROM requests").map(RequestRollups.hourStart) ?? until
            }
            // No hour before 1970 (a row with an absurd time must not make the walk endless),
            // and only the hours that hold requests (one such row must not cost a transaction
            // for every hour since 1970).
            start = max(start, 0)
            let hours = try Double.fetchAll(db, sql: """
                SELECT DISTINCT CAST(received_at / 3600 AS INTEGER) * 3600.0 FROM requests WHERE received_at >= ? AND received_at < ?
                """, arguments: [start, until])
            return (stale, hours)
        }
        // First the rows written late into hours already rolled up (perhaps after their raw
        // rows went): added to those hours' rollups, all in one transaction with the new
        // `rolled_id`, so that none is added twice.
        try Task.checkCancellation()
        try await database.write { db in
            // Another round (`miners retention` beside the supervisor) got here first.
            guard try RetentionState.read(db).rolledID == state.rolledID else { return }
            for hour in stale {
                try RequestRollups.rollUp(db, hour: hour, ids: (state.rolledID + 1)...max(written, state.rolledID + 1), merge: true)
            }
            var state = try RetentionState.read(db)
            state.rolledID = max(state.rolledID, written)
            try state.write(db)
        }
        // Then each new hour, from every row written by the start of the round (any later row
        // of it is a late row of the next round).
        for hour in hours {
            try Task.checkCancellation()
            try await database.write { db in
                var state = try RetentionState.read(db)
                guard state.rolledUntil <= hour else { return }  // rolled by another round
                try RequestRollups.rollUp(db, hour: hour, ids: 0...written)
                state.rolledUntil = max(state.rolledUntil, hour + RequestRollups.hour)
                try state.write(db)
            }
            await pause()
        }
        // Hours without a request are passed at once.
        if until > state.rolledUntil {
            try await database.write { db in
                var state = try RetentionState.read(db)
                state.rolledUntil = max(state.rolledUntil, until)
                try state.write(db)
            }
        }
        progress.hoursRolledUp += stale.count + hours.count
    }

    /// Runs `step` in a transaction of its own until it says it is finished, pausing between
    /// (the workers' writes go on); returns the rows it deleted.
    private func inSteps(_ step: @escaping @Sendable (Database) throws -> (finished: Bool, deleted: Int)) async throws -> Int {
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let result = try await database.write(step)
            deleted += result.deleted
            if result.finished { return deleted }
            await pause()
        }
    }

    /// The next `chunk` requests by id after `id` that were received before `before`, and
    /// whether they are the last: ids follow the time requests ended closely enough that the
    /// walk stops at the first too new.
    private func oldRequests(_ db: Database, after id: Int64, before: Double) throws -> (ids: [Int64], last: Bool) {
        // Cast by SQLite: a worker's row with a text time reads as 0 (old) instead of trapping.
        // Fleet: never past the last replicated request (its batches and timeouts go with it).
        let rows = try Row.fetchAll(db, sql: "SELECT id, CAST(received_at AS REAL) FROM requests WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", arguments: [id, keptAbove("requests"), chunk])
        let old = rows.prefix { ($0[1] as Double? ?? 0) < before }.map { $0[0] as Int64 }
        return (old, old.count < rows.count || rows.count < chunk)
    }

    /// Deletes the batch rows of requests received before `before`, walking requests by id
    /// from where the last round stopped. `batches_until` moves first: from then on readers
    /// take the large batches of those hours from the rollups, not from batch rows half deleted.
    func deleteBatches(before: Double) async throws -> Int {
        try await inSteps { [self] db in
            var state = try RetentionState.read(db)
            state.batchesUntil = max(state.batchesUntil, before)
            let (ids, last) = try oldRequests(db, after: state.batchesID, before: before)
            if let end = ids.last {
                try db.execute(sql: "DELETE FROM batches WHERE request_id IN (\(ids.map(String.init).joined(separator: ",")))")
                state.batchesID = end
            }
            let deleted = ids.isEmpty ? 0 : db.changesCount
            try state.write(db)
            return (last, deleted)
        }
    }

    /// Deletes requests received before `before` with their batches and timeouts.
    /// `requests_until` moves first, in the first step's transaction: from then on readers take
    /// those hours from the rollups (complete: `before` is at most `rolled_until`), never from
    /// raw rows half deleted, and no late row re-rolls such an hour from what is left.
    func deleteRequests(before: Double) async throws -> Int {
        try await inSteps { [self] db in
            var state = try RetentionState.read(db)
            if state.requestsUntil < before || state.batchesUntil < before {
                state.requestsUntil = max(state.requestsUntil, before)
                state.batchesUntil = max(state.batchesUntil, before)
                try state.write(db)
            }
            let (ids, last) = try oldRequests(db, after: 0, before: before)
            var deleted = 0
            if !ids.isEmpty {
                let list = ids.map(String.init).joined(separator: ",")
                try db.execute(sql: "DELETE FROM batches WHERE request_id IN (\(list))")
                try db.execute(sql: "DELETE FROM timeouts WHERE request_id IN (\(list))")
                try db.execute(sql: "DELETE FROM requests WHERE id IN (\(list))")
                deleted = db.changesCount
            }
            return (last, deleted)
        }
    }

    /// The supervisor's own events older than `before`, keeping the newest of each subject
    /// (what `status` shows as the last event, the last standing rows the deregistration rule
    /// reads, whether an alert still fires).
    func deleteEvents(before: Double) async throws -> Int {
        let tables: [(table: String, keep: String)] = [
            ("lifecycle", "SELECT max(id) FROM lifecycle GROUP BY miner, service"),
            ("chain_events", "SELECT max(id) FROM chain_events GROUP BY kind, miner, path"),
            ("log_losses", "SELECT max(id) FROM log_losses"),
            ("alerts", "SELECT max(id) FROM alerts GROUP BY kind, subject"),
            ("standing", "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY miner ORDER BY id DESC) AS n FROM standing) WHERE n <= 2"),
        ]
        var deleted = 0
        for (table, keep) in tables {
            let bound = keptAbove(table)  // fleet: nothing not yet replicated
            deleted += try await inSteps { [chunk] db in
                guard try db.tableExists(table) else { return (true, 0) }
                try db.execute(sql: """
                    DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE at < ? AND id <= ? AND id NOT IN (\(keep)) ORDER BY id LIMIT ?)
                    """, arguments: [before, bound, chunk])
                return (db.changesCount < chunk, db.changesCount)
            }
        }
        return deleted
    }

    /// The highest id of `table` that may be deleted: its last replicated id with `fleet:`.
    private func keptAbove(_ table: String) -> Int64 {
        guard let replicated else { return Int64.max }
        return ReplicationProgress.replicatedID(of: table, in: replicated)
    }

    /// Rollups of hours before `before`, a day of hours per transaction.
    func deleteRollups(before: Double) async throws -> Int {
        try await inSteps { db in
            // Only numbers below `before` (a hand-edited text hour is never below it), and a
            // step that always passes `first`: at -1e300, adding a day changes nothing.
            guard let first = try Double.fetchOne(db, sql: "SELECT min(hour) FROM request_rollups WHERE hour < ?", arguments: [before]) else {
                return (true, 0)
            }
            let until = first + 86_400 > first ? min(before, first + 86_400) : before
            try db.execute(sql: "DELETE FROM request_rollups WHERE hour < ?", arguments: [until])
            let deleted = db.changesCount
            var state = try RetentionState.read(db)
            state.rollupsUntil = max(state.rollupsUntil, until)
            try state.write(db)
            return (until == before, deleted)
        }
    }

    /// Gives free pages back, a megabyte at a time, when the file was made with incremental
    /// vacuum (new databases are; `miners migrate --vacuum` converts an old one). Otherwise
    /// SQLite reuses the free pages, so the file stays flat without shrinking.
    func vacuum() async throws -> Int {
        guard try await database.read({ try Int.fetchOne($0, sql: "PRAGMA auto_vacuum") }) == 2 else { return 0 }
        var freed = 0
        while true {
            try Task.checkCancellation()
            let free = try await database.writeWithoutTransaction { db -> Int in
                let before = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                if before > 0 { try db.execute(sql: "PRAGMA incremental_vacuum(256)") }
                return before - (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
            }
            if free <= 0 { return freed }
            freed += free
            await pause()
        }
    }
}
