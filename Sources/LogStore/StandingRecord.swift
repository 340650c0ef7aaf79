import GRDB

/// A configured hotkey's standing on its subnet at one metagraph refresh (`standing`).
public struct StandingRecord: Sendable, Equatable, Codable {
    public var at: Double
    public var miner: String
    public var hotkey: String
    public var network: String
    public var netuid: Int
    public var block: Int
    public var tempo: Int
    /// False when the hotkey was not among the subnet's neurons; the fields below are then nil.
    public var registered: Bool
    public var uid: Int?
    public var stake: Double?
    public var rank: Double?
    public var trust: Double?
    public var incentive: Double?
    public var emission: Double?
    public var lastUpdate: Int?
    public var registrationBlock: Int?
    public var immunityLeft: Int?

    public init(
        at: Double, miner: String, hotkey: String, network: String, netuid: Int, block: Int, tempo: Int, registered: Bool,
        uid: Int? = nil, stake: Double? = nil, rank: Double? = nil, trust: Double? = nil, incentive: Double? = nil,
        emission: Double? = nil, lastUpdate: Int? = nil, registrationBlock: Int? = nil, immunityLeft: Int? = nil
    ) {
        self.at = at
        self.miner = miner
        self.hotkey = hotkey
        self.network = network
        self.netuid = netuid
        self.block = block
        self.tempo = tempo
        self.registered = registered
        self.uid = uid
        self.stake = stake
        self.rank = rank
        self.trust = trust
        self.incentive = incentive
        self.emission = emission
        self.lastUpdate = lastUpdate
        self.registrationBlock = registrationBlock
        self.immunityLeft = immunityLeft
    }

    /// Miners whose hotkey the last two refreshes in a row found unregistered: one bad read
    /// cannot mark a hotkey deregistered.
    public static func deregistered(_ database: DatabaseQueue) throws -> Set<String> {
        try database.read { db in
            guard try db.tableExists("standing") else { return [] }
            return Set(try String.fetchAll(db, sql: """
                SELECT miner FROM (
                    SELECT miner, registered, row_number() OVER (PARTITION BY miner ORDER BY id DESC) AS n FROM standing)
                WHERE n <= 2 GROUP BY miner HAVING count(*) = 2 AND max(registered) = 0
                """))
        }
    }
}
