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
        var progress = Progress()
        try await rollUp(until: RequestRollups.hourStart(now - Self.settle), &progress)
        report(progress)
        var state = try await database.read { try RetentionState.read($0) }
        // Raw rows go only once their hours are rolled up.
        func cutoff(_ horizon: Double?) -> Double? {
            horizon.map { min(RequestRollups.hourStart(now - $0), state.rolledUntil) }
        }
        if let until = cutoff(batches), until > state.batchesUntil {
            progress.batchesDeleted += try await deleteBatches(before: until)
            report(progress)
        }
        state = try await database.read { try RetentionState.read($0) }
        if let until = cutoff(requests), until > state.requestsUntil {
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

    /// Rolls up each hour from the last rolled one to `until`, one transaction an hour, and
    /// again any rolled hour that rows written since (a journal replayed late) belong to, while
    /// its raw rows are all there.
    func rollUp(until: Double, _ progress: inout Progress) async throws {
        let state = try await database.read { try RetentionState.read($0) }
        // Rows written from here on are newer than `rolledID`: the next round sees them.
        let written = try await database.read { try Int64.fetchOne($0, sql: "SELECT coalesce(max(id), 0) FROM requests") ?? 0 }
        var hours = try await database.read { db -> [Double] in
            let stale = try Double.fetchAll(db, sql: """
                SELECT DISTINCT CAST(received_at / 3600 AS INTEGER) * 3600.0 FROM requests
                WHERE id > ? AND received_at < ? AND received_at >= ?
                """, arguments: [state.rolledID, state.rolledUntil, max(state.requestsUntil, state.batchesUntil)])
            var start = state.rolledUntil
            if start == 0 {
                // Nothing logged yet: nothing to roll up before the first request.
                start = try Double.fetchOne(db, sql: "SELECT min(received_at) FROM requests").map(RequestRollups.hourStart) ?? until
            }
            return stale + Array(stride(from: start, to: until, by: RequestRollups.hour))
        }
        hours.sort()
        for hour in hours {
            try Task.checkCancellation()
            try await database.write { db in
                try RequestRollups.rollUp(db, hour: hour)
                var state = try RetentionState.read(db)
                state.rolledUntil = max(state.rolledUntil, hour + RequestRollups.hour)
                state.rolledID = max(state.rolledID, written)
                try state.write(db)
            }
            progress.hoursRolledUp += 1
            await pause()
        }
    }

    /// Deletes the batch rows of requests received before `before`, walking requests by id
    /// from where the last round stopped.
    func deleteBatches(before: Double) async throws -> Int {
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let (done, count) = try await database.write { db -> (Bool, Int) in
                var state = try RetentionState.read(db)
                var count = 0
                let rows = try Row.fetchAll(db, sql: "SELECT id, received_at FROM requests WHERE id > ? ORDER BY id LIMIT ?",
                                            arguments: [state.batchesID, chunk])
                // Ids follow the time requests ended, closely enough: stop at the first too new.
                let old = rows.prefix { ($0["received_at"] as Double) < before }.map { $0["id"] as Int64 }
                if !old.isEmpty {
                    try db.execute(sql: "DELETE FROM batches WHERE request_id IN (\(old.map(String.init).joined(separator: ",")))")
                    count = db.changesCount
                    state.batchesID = old.last!
                }
                let finished = old.count < rows.count || rows.count < chunk
                if finished { state.batchesUntil = before }
                try state.write(db)
                return (finished, count)
            }
            deleted += count
            if done { return deleted }
            await pause()
        }
    }

    /// Deletes requests received before `before` (their batches and timeouts go with them).
    func deleteRequests(before: Double) async throws -> Int {
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let (done, count) = try await database.write { db -> (Bool, Int) in
                let rows = try Row.fetchAll(db, sql: "SELECT id, received_at FROM requests ORDER BY id LIMIT ?", arguments: [chunk])
                var count = 0
                let old = rows.prefix { ($0["received_at"] as Double) < before }.map { $0["id"] as Int64 }
                if !old.isEmpty {
                    let ids = old.map(String.init).joined(separator: ",")
                    try db.execute(sql: "DELETE FROM batches WHERE request_id IN (\(ids))")
                    try db.execute(sql: "DELETE FROM timeouts WHERE request_id IN (\(ids))")
                    try db.execute(sql: "DELETE FROM requests WHERE id IN (\(ids))")
                    count = db.changesCount
                }
                let finished = old.count < rows.count || rows.count < chunk
                if finished {
                    var state = try RetentionState.read(db)
                    state.requestsUntil = before
                    state.batchesUntil = max(state.batchesUntil, before)
                    try state.write(db)
                }
                return (finished, count)
            }
            deleted += count
            if done { return deleted }
            await pause()
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
            while true {
                try Task.checkCancellation()
                let count = try await database.write { db -> Int in
                    guard try db.tableExists(table) else { return 0 }
                    try db.execute(sql: """
                        DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE at < ? AND id NOT IN (\(keep)) ORDER BY id LIMIT ?)
                        """, arguments: [before, chunk])
                    return db.changesCount
                }
                deleted += count
                if count < chunk { break }
                await pause()
            }
        }
        return deleted
    }

    /// Rollups of hours before `before`, a day of hours per transaction.
    func deleteRollups(before: Double) async throws -> Int {
        var deleted = 0
        while true {
            try Task.checkCancellation()
            let count = try await database.write { db -> Int in
                guard let first = try Double.fetchOne(db, sql: "SELECT min(hour) FROM request_rollups"), first < before else { return 0 }
                try db.execute(sql: "DELETE FROM request_rollups WHERE hour < ?", arguments: [min(before, first + 86_400)])
                let count = db.changesCount
                var state = try RetentionState.read(db)
                state.rollupsUntil = max(state.rollupsUntil, min(before, first + 86_400))
                try state.write(db)
                return max(count, 1)
            }
            if count == 0 { return deleted }
            deleted += count
            await pause()
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
