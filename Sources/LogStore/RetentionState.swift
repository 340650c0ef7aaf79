import GRDB

/// How far retention has gone in one database (`retention_state`): which hours are rolled up,
/// and before when raw rows are gone. Times are Unix seconds on hour boundaries; 0 is "never".
public struct RetentionState: Sendable, Equatable {
    public var rolledUntil = 0.0
    public var rolledID: Int64 = 0
    public var batchesUntil = 0.0
    public var batchesID: Int64 = 0
    public var requestsUntil = 0.0
    public var rollupsUntil = 0.0

    public init() {}

    /// The latest time a state field is read as (the year 5138): beyond, a hand-edited value.
    static let maxTime = 1e11

    static func read(_ db: Database) throws -> RetentionState {
        var state = RetentionState()
        // Cast by SQLite and bounded here: a row edited by hand to text or to an absurd number
        // reads as "never" (or far in the future) instead of trapping the decoder.
        guard try db.tableExists("retention_state"), let row = try Row.fetchOne(db, sql: """
            SELECT CAST(rolled_until AS REAL), CAST(rolled_id AS INTEGER), CAST(batches_until AS REAL),
                   CAST(batches_id AS INTEGER), CAST(requests_until AS REAL), CAST(rollups_until AS REAL)
            FROM retention_state WHERE id = 1
            """) else {
            return state
        }
        func time(_ index: Int) -> Double {
            let value = (row[index] as Double?) ?? 0
            return value.isFinite && value > 0 ? min(value, maxTime) : 0
        }
        func id(_ index: Int) -> Int64 { max((row[index] as Int64?) ?? 0, 0) }
        state.rolledUntil = time(0)
        state.rolledID = id(1)
        state.batchesUntil = time(2)
        state.batchesID = id(3)
        state.requestsUntil = time(4)
        state.rollupsUntil = time(5)
        return state
    }

    func write(_ db: Database) throws {
        try db.execute(sql: """
            UPDATE retention_state SET rolled_until = ?, rolled_id = ?, batches_until = ?, batches_id = ?, requests_until = ?,
                rollups_until = ? WHERE id = 1
            """, arguments: [rolledUntil, rolledID, batchesUntil, batchesID, requestsUntil, rollupsUntil])
    }

    public static func read(_ database: DatabaseQueue) throws -> RetentionState {
        try database.read { try read($0) }
    }
}
