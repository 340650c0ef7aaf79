import GRDB

/// One thing done on chain: a serve attempt or a metagraph refresh (`chain_events`).
public struct ChainEventRecord: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case serve
        case metagraph
    }

    public var at: Double
    public var kind: Kind
    public var miner: String?
    public var network: String
    public var netuid: Int
    public var outcome: String
    public var block: Int?
    public var path: String?
    public var detail: String?

    public init(
        at: Double, kind: Kind, miner: String?, network: String, netuid: Int, outcome: String,
        block: Int? = nil, path: String? = nil, detail: String? = nil
    ) {
        self.at = at
        self.kind = kind
        self.miner = miner
        self.network = network
        self.netuid = netuid
        self.outcome = outcome
        self.block = block
        self.path = path
        self.detail = detail
    }

    public func insert(into db: Database) throws {
        try db.execute(
            sql: "INSERT INTO chain_events (at, kind, miner, network, netuid, outcome, block, path, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [at, kind.rawValue, miner, network, netuid, outcome, block, path, detail]
        )
    }

    /// The newest event of each serve target (miner) and each snapshot file.
    public static func latest(_ database: DatabaseQueue) throws -> [ChainEventRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM chain_events WHERE id IN (
                    SELECT max(id) FROM chain_events GROUP BY kind, CASE kind WHEN 'serve' THEN miner ELSE path END)
                ORDER BY kind DESC, miner, path
                """).map(Self.init(row:))
        }
    }

    /// The newest successful refresh of a snapshot file, to say how old the kept file is.
    public static func lastWritten(_ database: DatabaseQueue, path: String) throws -> ChainEventRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM chain_events WHERE kind = 'metagraph' AND path = ? AND outcome = 'written' ORDER BY id DESC LIMIT 1", arguments: [path])
                .map(Self.init(row:))
        }
    }

    init(row: Row) {
        self.init(
            at: row["at"], kind: Kind(rawValue: row["kind"]) ?? .serve, miner: row["miner"], network: row["network"],
            netuid: row["netuid"], outcome: row["outcome"], block: row["block"], path: row["path"], detail: row["detail"]
        )
    }
}
