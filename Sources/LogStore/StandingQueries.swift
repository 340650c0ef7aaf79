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
        let int = { (column: String) in Self.int(row, column) }
        let double = { (column: String) in Self.double(row, column) }
        self.init(
            at: double("at") ?? 0, miner: Self.text(row, "miner"), hotkey: Self.text(row, "hotkey"), network: Self.text(row, "network"),
            netuid: int("netuid") ?? 0, block: int("block") ?? 0, tempo: int("tempo") ?? 0, registered: (int("registered") ?? 0) != 0,
            uid: int("uid"), stake: double("stake"), rank: double("rank"), trust: double("trust"), incentive: double("incentive"),
            emission: double("emission"), lastUpdate: int("last_update"), registrationBlock: int("registration_block"),
            immunityLeft: int("immunity_left")
        )
    }

    // Functions of their own, not nested in `init(row:)`: Swift 6.3.1's optimizer crashes on the
    // nested form in a release build ("Found outside of lifetime use", CopyPropagation).
    @inline(never)
    private static func stored(_ row: Row, _ column: String) -> DatabaseValue {
        row.hasColumn(column) ? row[column] : .null
    }

    @inline(never)
    private static func text(_ row: Row, _ column: String) -> String {
        let value = stored(row, column)
        return String.fromDatabaseValue(value) ?? Int64.fromDatabaseValue(value).map { String($0) } ?? ""
    }

    @inline(never)
    private static func int(_ row: Row, _ column: String) -> Int? {
        Int.fromDatabaseValue(stored(row, column))
    }

    @inline(never)
    private static func double(_ row: Row, _ column: String) -> Double? {
        Double.fromDatabaseValue(stored(row, column)).flatMap { $0.isFinite ? $0 : nil }
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
