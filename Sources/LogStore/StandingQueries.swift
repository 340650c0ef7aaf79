import GRDB

/// Writing and reading `standing` rows.
extension StandingRecord {
    /// Blocks per day at 12 s a block.
    public static let blocksPerDay = 7200.0

    /// `emission` is per epoch, and an epoch is tempo + 1 blocks.
    public var emissionPerDay: Double? {
        emission.map { $0 * Self.blocksPerDay / Double(tempo + 1) }
    }

    public func insert(into db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO standing (at, miner, hotkey, network, netuid, block, tempo, registered, uid, stake, rank, trust,
                    incentive, emission, last_update, registration_block, immunity_left)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [at, miner, hotkey, network, netuid, block, tempo, registered, uid, stake, rank, trust, incentive,
                        emission, lastUpdate, registrationBlock, immunityLeft]
        )
    }

    init(row: Row) {
        self.init(
            at: row["at"], miner: row["miner"], hotkey: row["hotkey"], network: row["network"], netuid: row["netuid"],
            block: row["block"], tempo: row["tempo"], registered: row["registered"], uid: row["uid"], stake: row["stake"],
            rank: row["rank"], trust: row["trust"], incentive: row["incentive"], emission: row["emission"],
            lastUpdate: row["last_update"], registrationBlock: row["registration_block"], immunityLeft: row["immunity_left"]
        )
    }

    /// Each miner's newest `count` rows, newest first.
    public static func newest(_ database: DatabaseQueue, count: Int = 2) throws -> [String: [StandingRecord]] {
        try database.read { db in
            guard try db.tableExists("standing") else { return [:] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY miner ORDER BY id DESC) AS n FROM standing)
                WHERE n <= ? ORDER BY miner, n
                """, arguments: [count])
            return Dictionary(grouping: rows.map(Self.init(row:)), by: \.miner)
        }
    }

    /// Each miner's newest row that found its hotkey registered.
    public static func lastRegistered(_ database: DatabaseQueue) throws -> [String: StandingRecord] {
        try database.read { db in
            guard try db.tableExists("standing") else { return [:] }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM standing WHERE id IN (SELECT max(id) FROM standing WHERE registered GROUP BY miner)")
            return Dictionary(rows.map { (row: Row) in (row["miner"] as String, Self(row: row)) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The rows of a window, oldest first (the report's incentive over time).
    public static func history(_ database: DatabaseQueue, from: Double, to: Double) throws -> [StandingRecord] {
        try database.read { db in
            guard try db.tableExists("standing") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM standing WHERE at >= ? AND at < ? ORDER BY at, id", arguments: [from, to])
                .map(Self.init(row:))
        }
    }
}
