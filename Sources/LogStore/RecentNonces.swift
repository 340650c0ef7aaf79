import GRDB

/// The nonces a miner's earlier workers accepted recently, read back when a worker starts: its
/// nonce table lives in memory, and without them a request captured before a restart could be
/// replayed after it.
public enum RecentNonces {
    public struct Nonce: Sendable, Equatable {
        public var hotkey: String
        public var uuid: String?
        public var nonce: Int64
    }

    /// Every verified request of `worker` received since `since` (Unix seconds); the log keeps
    /// `validator_hotkey` only for requests whose signature verified, and those had their nonce
    /// accepted.
    public static func read(_ database: DatabaseQueue, worker: String, since: Double) throws -> [Nonce] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT validator_hotkey, uuid, max(nonce) AS nonce FROM requests
                WHERE worker = ? AND received_at >= ? AND validator_hotkey IS NOT NULL AND nonce IS NOT NULL
                GROUP BY validator_hotkey, uuid
                """, arguments: [worker, since]).map { Nonce(hotkey: $0["validator_hotkey"], uuid: $0["uuid"], nonce: $0["nonce"]) }
        }
    }
}
