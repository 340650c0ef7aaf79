import GRDB

/// Writing and reading `standing` rows.
extension StandingRecord {
    /// Blocks per day at 12 s a block.
    public static let blocksPerDay = 7200.0

    /// `emission` is per epoch, and an epoch is tempo + 1 blocks.
    public var emissionPerDay: Double? {
        // In doubles: `tempo + 1` traps at Int.max (a chain node's or a hand-edited row's), and a
        // tempo below 0 has no epoch to divide by.
        guard tempo >= 0 else { return nil }
        return emission.map { $0 * Self.blocksPerDay / (Double(tempo) + 1) }
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

    /// A row as stored, whatever it holds: a value of the wrong type (a hand-edited row) reads
    /// as missing instead of trapping the decoder, and a number that is not finite as missing
    /// (`status --json` could not write it). The supervisor reads these rows for its metrics.
    init(row: Row) {
        func value(_ column: String) -> DatabaseValue { row.hasColumn(column) ? row[column] : .null }
        func text(_ column: String) -> String {
            switch value(column).storage {
            case .string(let text): text
            case .int64(let number): String(number)
            default: ""
            }
        }
        func int(_ column: String) -> Int? { Int.fromDatabaseValue(value(column)) }
        func double(_ column: String) -> Double? { Double.fromDatabaseValue(value(column)).flatMap { $0.isFinite ? $0 : nil } }
        self.init(
            at: double("at") ?? 0, miner: text("miner"), hotkey: text("hotkey"), network: text("network"), netuid: int("netuid") ?? 0,
            block: int("block") ?? 0, tempo: int("tempo") ?? 0, registered: (int("registered") ?? 0) != 0, uid: int("uid"),
            stake: double("stake"), rank: double("rank"), trust: double("trust"), incentive: double("incentive"),
            emission: double("emission"), lastUpdate: int("last_update"), registrationBlock: int("registration_block"),
            immunityLeft: int("immunity_left")
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
            return Dictionary(rows.map { (row: Row) in let record = Self(row: row); return (record.miner, record) }, uniquingKeysWith: { first, _ in first })
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
