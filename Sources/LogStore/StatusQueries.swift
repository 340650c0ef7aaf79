import GRDB

/// What the log says about each worker lately, for `miners status`.
public enum StatusQueries {
    public struct Activity: Sendable, Equatable {
        public var requests = 0
        public var timeouts = 0
        public init(requests: Int = 0, timeouts: Int = 0) {
            self.requests = requests
            self.timeouts = timeouts
        }
    }

    /// Requests (rejections excluded) and worker timeouts per worker since `since` (Unix seconds).
    public static func activity(_ database: DatabaseQueue, since: Double) throws -> [String: Activity] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT worker, count(*) AS requests,
                       sum(outcome IN ('partial_timeout', 'empty_timeout')) AS timeouts
                FROM requests WHERE received_at >= ? AND outcome != 'rejected' GROUP BY worker
                """, arguments: [since])
            var result: [String: Activity] = [:]
            for row in rows { result[row["worker"]] = Activity(requests: row["requests"], timeouts: row["timeouts"] ?? 0) }
            return result
        }
    }

    /// The latest lifecycle event of each miner.
    public static func lastEvents(_ database: DatabaseQueue) throws -> [String: LifecycleRecord] {
        try database.read { db in
            guard try db.tableExists("lifecycle") else { return [:] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.* FROM lifecycle l
                JOIN (SELECT miner, max(id) AS id FROM lifecycle WHERE miner IS NOT NULL GROUP BY miner) latest ON l.id = latest.id
                """)
            var result: [String: LifecycleRecord] = [:]
            for row in rows {
                guard let miner: String = row["miner"], let event = LifecycleRecord.Event(rawValue: row["event"]) else { continue }
                result[miner] = LifecycleRecord(
                    at: row["at"], miner: miner, event: event, pid: row["pid"], exitCode: row["exit_code"],
                    signal: row["signal"], uptime: row["uptime_s"], backoff: row["backoff_s"], detail: row["detail"]
                )
            }
            return result
        }
    }

    public struct Refusals: Sendable, Equatable {
        public var validator: String
        public var reason: String
        public var status: Int
        public var count: Int
    }

    /// Refused requests since `since`, per validator hotkey and reason, most first.
    public static func refusals(_ database: DatabaseQueue, since: Double) throws -> [Refusals] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT coalesce(validator_hotkey, claimed_hotkey || ' (claimed)', '-') AS validator, coalesce(reason, '-') AS reason,
                       status, sum(count) AS count
                FROM requests WHERE outcome = 'rejected' AND received_at >= ?
                GROUP BY 1, 2, 3 ORDER BY count DESC, validator LIMIT 20
                """, arguments: [since]).map {
                Refusals(validator: $0["validator"], reason: $0["reason"], status: $0["status"], count: $0["count"])
            }
        }
    }

    /// Workers that appear in the request log, for a status without a config.
    public static func workers(_ database: DatabaseQueue) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT worker FROM requests UNION SELECT DISTINCT miner FROM lifecycle WHERE miner IS NOT NULL ORDER BY 1")
        }
    }

    /// Rows a worker dropped while the database could not be written.
    public struct Loss: Sendable, Equatable, Codable {
        public var worker: String
        public var lost: Int
        /// When writing started failing, and when it worked again (Unix seconds).
        public var since: Double?
        public var at: Double
        public var error: String?
    }

    public static func losses(_ database: DatabaseQueue, since: Double) throws -> [Loss] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT coalesce(worker, '-') AS worker, lost, since, at, error FROM log_losses WHERE at >= ? ORDER BY at
                """, arguments: [since]).map {
                Loss(worker: $0["worker"], lost: $0["lost"], since: $0["since"], at: $0["at"], error: $0["error"])
            }
        }
    }
}
