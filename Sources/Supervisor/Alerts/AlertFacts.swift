import GRDB
import LogStore

/// What the log database says, for one check: each miner's last validator request, log rows
/// lost, failed serves, deregistered hotkeys.
public struct AlertFacts: Sendable, Equatable {
    public struct Loss: Sendable, Equatable {
        /// Nil: the supervisor's own rows.
        public var worker: String?
        public var lost: Int
        public var first: Double
        public var last: Double
        public var error: String?

        public init(worker: String?, lost: Int, first: Double, last: Double, error: String? = nil) {
            self.worker = worker
            self.lost = lost
            self.first = first
            self.last = last
            self.error = error
        }
    }

    /// Unix seconds of each miner's newest request not refused, within the look-back.
    public var lastRequest: [String: Double] = [:]
    public var losses: [Loss] = []
    /// Miners whose newest serve failed: the failure's detail.
    public var failedServes: [String: String] = [:]
    public var deregistered: Set<String> = []

    public init() {}

    /// - Parameters:
    ///   - requestsSince: the oldest request that matters (nil: none are read).
    ///   - lossesSince: losses written from then on.
    public static func read(_ database: DatabaseQueue, requestsSince: Double?, lossesSince: Double) async throws -> AlertFacts {
        var facts = try await database.read { db in
            var facts = AlertFacts()
            if let requestsSince {
                // Cast by SQLite: a worker's row with a text time (text sorts above every
                // number, so it passes the filter) must not trap the supervisor's decoder.
                for row in try Row.fetchAll(db, sql: """
                    SELECT CAST(worker AS TEXT), coalesce(CAST(max(received_at) AS REAL), 0) FROM requests
                    WHERE received_at >= ? AND outcome != 'rejected' GROUP BY worker
                    """, arguments: [requestsSince]) {
                    facts.lastRequest[row[0] ?? ""] = row[1]
                }
            }
            facts.losses = try Row.fetchAll(db, sql: """
                SELECT CAST(worker AS TEXT), coalesce(CAST(total(lost) AS INTEGER), 0), coalesce(CAST(min(coalesce(since, at)) AS REAL), 0),
                       coalesce(CAST(max(at) AS REAL), 0),
                       (SELECT CAST(error AS TEXT) FROM log_losses l WHERE l.worker IS o.worker ORDER BY id DESC LIMIT 1)
                FROM log_losses o WHERE at >= ? GROUP BY worker ORDER BY worker
                """, arguments: [lossesSince]).map { Loss(worker: $0[0], lost: $0[1], first: $0[2], last: $0[3], error: $0[4]) }
            return facts
        }
        for event in try ChainEventRecord.latest(database) where event.kind == .serve && event.outcome == "failed" {
            if let miner = event.miner { facts.failedServes[miner] = event.detail ?? "failed" }
        }
        facts.deregistered = try StandingRecord.deregistered(database)
        return facts
    }
}
