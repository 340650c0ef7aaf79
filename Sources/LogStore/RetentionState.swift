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

    static func read(_ db: Database) throws -> RetentionState {
        var state = RetentionState()
        guard try db.tableExists("retention_state"), let row = try Row.fetchOne(db, sql: "SELECT * FROM retention_state WHERE id = 1") else {
            return state
        }
        state.rolledUntil = row["rolled_until"]
        state.rolledID = row["rolled_id"]
        state.batchesUntil = row["batches_until"]
        state.batchesID = row["batches_id"]
        state.requestsUntil = row["requests_until"]
        state.rollupsUntil = row["rollups_until"]
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
