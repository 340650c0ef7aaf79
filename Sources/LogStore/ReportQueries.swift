import GRDB

/// What `miners report` draws, read from one or more databases.
public enum ReportQueries {
    public struct Request: Sendable, Equatable {
        public var worker: String
        public var outcome: String
        public var receivedAt: Double
        public var ttfb: Double?
        public var deliveredShare: Double?
        /// Requests the row stands for (an aggregated refusal stands for several).
        public var count = 1
    }

    /// One slow request and when each of its batches reached the wire.
    public struct Timeline: Sendable, Equatable {
        public var worker: String
        public var validator: String
        public var outcome: String
        public var timeout: Double?
        public var total: Double
        public var batchOffsets: [Double]
    }

    public struct Data: Sendable {
        public var from: Double
        public var to: Double
        public var requests: [Request]
        public var slowest: [Timeline]
        public var validators: [RequestAnalysis.Figures]
        /// Which part came from hourly rollups (retention deleted its raw rows).
        public var coverage = RequestAnalysis.Coverage()
    }

    /// What another database (the fleet's PostgreSQL, `FleetAnalysis.report`) brings to a report.
    public struct Part: Sendable {
        public var requests: [Request]
        public var slowest: [Timeline]
        public var validators: [RequestAnalysis.KeyedTotals]
        public var standing: [StandingRecord]
        public init(requests: [Request], slowest: [Timeline], validators: [RequestAnalysis.KeyedTotals], standing: [StandingRecord]) {
            self.requests = requests
            self.slowest = slowest
            self.validators = validators
            self.standing = standing
        }
    }

    public static func load(
        _ databases: [DatabaseQueue], from: Double, to: Double, slowest count: Int = 10, adding others: [Part] = []
    ) throws -> Data {
        var requests: [Request] = others.flatMap(\.requests)
        var slowest: [Timeline] = others.flatMap(\.slowest)
        for database in databases {
            try database.read { db in
                let parts = RequestAnalysis.Parts(RequestAnalysis.Query(from: from, to: to), state: try RetentionState.read(db))
                if let rollups = parts.rollups { requests += try rolledUp(db, from: rollups.from, to: rollups.to) }
                let from = parts.raw?.from ?? to
                requests += try Row.fetchAll(db, sql: """
                    SELECT worker, outcome, received_at, first_batch_at - received_at AS ttfb,
                           CASE WHEN items_generated > 0 THEN 1.0 * items_sent / items_generated END AS share, count
                    FROM requests WHERE received_at >= ? AND received_at < ?
                    """, arguments: [from, to]).map {
                    Request(
                        worker: $0["worker"], outcome: $0["outcome"], receivedAt: $0["received_at"], ttfb: $0["ttfb"],
                        deliveredShare: $0["share"], count: max($0["count"] as Int, 1)
                    )
                }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, worker, coalesce(validator_hotkey, '-') AS validator, outcome, timeout,
                           finished_at - received_at AS total
                    FROM requests WHERE received_at >= ? AND received_at < ? AND outcome != 'rejected'
                    ORDER BY total DESC LIMIT ?
                    """, arguments: [parts.rawBatches?.from ?? to, to, count])  // where batch rows are kept
                for row in rows {
                    let offsets = try Double.fetchAll(db, sql: "SELECT offset_s FROM batches WHERE request_id = ? ORDER BY seq", arguments: [row["id"]])
                    slowest.append(Timeline(
                        worker: row["worker"], validator: row["validator"], outcome: row["outcome"], timeout: row["timeout"],
                        total: row["total"], batchOffsets: offsets
                    ))
                }
            }
        }
        var query = RequestAnalysis.Query(from: from, to: to)
        query.groupBy = [.validator]
        return Data(
            from: from, to: to, requests: requests.sorted { $0.receivedAt < $1.receivedAt },
            slowest: Array(slowest.sorted { $0.total > $1.total }.prefix(count)),
            validators: try RequestAnalysis.run(databases, query, adding: others.flatMap(\.validators)),
            coverage: try RequestAnalysis.coverage(databases, query)
        )
    }

    /// Rollup rows as requests at the middle of their hour: one per bucket of the time to first
    /// batch, standing for the requests in it, and one for those without a first batch. Each
    /// carries the row's mean delivered share.
    static func rolledUp(_ db: Database, from: Double, to: Double) throws -> [Request] {
        var requests: [Request] = []
        for row in try Row.fetchAll(db, sql: """
            SELECT CAST(worker AS TEXT) AS worker, CAST(outcome AS TEXT) AS outcome, CAST(hour AS REAL) AS hour,
                   CAST(requests AS INTEGER) AS requests, CAST(ttfb_histogram AS TEXT) AS ttfb_histogram,
                   CAST(delivered_sum AS REAL) / nullif(CAST(delivered_n AS INTEGER), 0) AS share
            FROM request_rollups WHERE hour >= ? AND hour < ?
            """, arguments: [from, to]) {
            let at = (row["hour"] as Double) + RequestRollups.hour / 2
            // Bounded as read (a hand-edited row): a share the chart can place, counts that add up.
            let share = (row["share"] as Double?).flatMap { $0.isFinite ? min(max($0, 0), 1) : nil }
            func request(ttfb: Double?, count: Int) -> Request {
                Request(worker: row["worker"], outcome: row["outcome"], receivedAt: at, ttfb: ttfb, deliveredShare: share, count: count)
            }
            let histogram = TTFBHistogram(text: row["ttfb_histogram"])
            requests += histogram.entries.map { request(ttfb: $0.value, count: $0.count) }
            let rest = min(max(row["requests"] as Int? ?? 0, 0), RequestRollups.maxCount) - min(histogram.total, RequestRollups.maxCount)
            if rest > 0 { requests.append(request(ttfb: nil, count: rest)) }
        }
        return requests
    }
}
