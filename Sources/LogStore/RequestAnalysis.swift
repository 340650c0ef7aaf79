import GRDB

/// The analysis behind `miners status --since/--by`: requests of a time window, grouped, with
/// the figures that tell how much of each answer reached the validator in time.
public enum RequestAnalysis {
    /// What a group can be keyed or filtered by.
    public enum Dimension: String, CaseIterable, Sendable {
        case miner, hotkey, backend, batchSize = "batch-size", validator

        var column: String {
            switch self {
            case .miner: "worker"
            case .hotkey: "miner_hotkey"
            case .backend: "backend"
            case .batchSize: "batch_size"
            case .validator: "validator_hotkey"
            }
        }
    }

    public struct Query: Sendable {
        /// Unix seconds, `from` included, `to` excluded.
        public var from: Double
        public var to: Double
        public var groupBy: [Dimension] = [.miner]
        public var filters: [Dimension: [String]] = [:]
        /// Batches with more items than this are counted (SN1 penalises chunks over 200 tokens).
        public var largeBatch = 200

        public init(from: Double, to: Double) {
            self.from = from
            self.to = to
        }
    }

    /// One request, as the analysis needs it.
    struct Fact {
        var key: [String]
        var outcome: String
        var reason: String?
        var receivedAt: Double
        var ttfb: Double?
        var total: Double
        var arrivalLag: Double?
        var queueWait: Double?
        var timeout: Double?
        var itemsSent: Int
        var itemsUnsent: Int
        var itemsGenerated: Int
        var finalAnswer: Bool
        var batches: Int
        var largestBatch: Int
        var batchesAbove: Int
        var meanGap: Double?
    }

    /// The figures of one group; every duration in seconds.
    public struct Figures: Codable, Sendable, Equatable {
        public var group: [String: String]
        public var requests: Int
        public var outcomes: [String: Int]
        public var rejections: [String: Int]
        public var ttfbP50: Double?
        public var ttfbP95: Double?
        public var ttfbP99: Double?
        public var meanTotal: Double?
        public var meanArrivalLag: Double?
        public var meanQueueWait: Double?
        /// Items that reached the wire in answers the deadline cut.
        public var itemsSentBeforeTimeout: Int
        /// Items the backend generated that were never sent.
        public var itemsUnsent: Int
        public var meanDeliveredShare: Double?
        /// Share of streamed answers in which `the final answer is:` reached the wire.
        public var finalAnswerRate: Double?
        public var meanBatchesPerRequest: Double?
        public var largestBatch: Int
        public var batchesAboveLimit: Int
        public var meanBatchGap: Double?
        public var requestsPerMinute: Double
        public var rejectionRate: Double
        public var meanTimeout: Double?
    }

    /// Reads the window's requests from one database.
    static func facts(_ database: DatabaseQueue, _ query: Query) throws -> [Fact] {
        var conditions = ["r.received_at >= ?", "r.received_at < ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [query.from, query.to]
        for (dimension, values) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !values.isEmpty {
            conditions.append("CAST(r.\(dimension.column) AS TEXT) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
            arguments += values.map { $0 }
        }
        let keyColumns = query.groupBy.map { "coalesce(CAST(r.\($0.column) AS TEXT), '-')" }
        let sql = """
            SELECT \((keyColumns + ["''"]).joined(separator: ", ")) ,
                   r.outcome, r.reason, r.received_at, r.first_batch_at - r.received_at AS ttfb,
                   r.finished_at - r.received_at AS total,
                   CASE WHEN r.nonce IS NOT NULL THEN r.received_at - r.nonce / 1e9 END AS lag,
                   r.queue_wait_s, r.timeout, r.items_sent, r.items_unsent, r.items_generated, r.final_answer_sent,
                   r.batches, coalesce(b.largest, 0) AS largest, coalesce(b.above, 0) AS above,
                   CASE WHEN r.batches > 1 THEN (b.last - b.first) / (r.batches - 1) END AS gap
            FROM requests r
            LEFT JOIN (SELECT request_id, max(items) AS largest, sum(items > ?) AS above,
                              min(offset_s) AS first, max(offset_s) AS last
                       FROM batches GROUP BY request_id) b ON b.request_id = r.id
            WHERE \(conditions.joined(separator: " AND "))
            """
        let keyCount = query.groupBy.count
        return try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments([query.largeBatch] + arguments)).map { row in
                let base = keyCount + 1
                return Fact(
                    key: (0..<keyCount).map { row[$0] },
                    outcome: row[base], reason: row[base + 1], receivedAt: row[base + 2], ttfb: row[base + 3],
                    total: row[base + 4], arrivalLag: row[base + 5], queueWait: row[base + 6], timeout: row[base + 7],
                    itemsSent: row[base + 8], itemsUnsent: row[base + 9], itemsGenerated: row[base + 10],
                    finalAnswer: row[base + 11], batches: row[base + 12], largestBatch: row[base + 13],
                    batchesAbove: row[base + 14], meanGap: row[base + 15]
                )
            }
        }
    }

    /// The groups of the window over one or more databases (one per machine), merged.
    public static func run(_ databases: [DatabaseQueue], _ query: Query) throws -> [Figures] {
        var facts: [Fact] = []
        for database in databases { facts += try Self.facts(database, query) }
        let minutes = max((query.to - query.from) / 60, 1e-9)
        return Dictionary(grouping: facts, by: \.key).map { key, facts in
            figures(key: Dictionary(uniqueKeysWithValues: zip(query.groupBy.map(\.rawValue), key)), facts, minutes: minutes)
        }.sorted { $0.group.sorted { $0.key < $1.key }.map(\.value).lexicographicallyPrecedes($1.group.sorted { $0.key < $1.key }.map(\.value)) }
    }

    static func figures(key: [String: String], _ facts: [Fact], minutes: Double) -> Figures {
        let streamed = facts.filter { $0.outcome != "rejected" }
        let timedOut = streamed.filter { $0.outcome == "partial_timeout" || $0.outcome == "empty_timeout" }
        let ttfbs = streamed.compactMap(\.ttfb).sorted()
        let rejected = facts.filter { $0.outcome == "rejected" }
        return Figures(
            group: key,
            requests: facts.count,
            outcomes: Dictionary(grouping: facts, by: \.outcome).mapValues(\.count),
            rejections: Dictionary(grouping: rejected, by: { $0.reason ?? "-" }).mapValues(\.count),
            ttfbP50: percentile(ttfbs, 0.50), ttfbP95: percentile(ttfbs, 0.95), ttfbP99: percentile(ttfbs, 0.99),
            meanTotal: mean(streamed.map(\.total)),
            meanArrivalLag: mean(facts.compactMap(\.arrivalLag)),
            meanQueueWait: mean(streamed.compactMap(\.queueWait)),
            itemsSentBeforeTimeout: timedOut.map(\.itemsSent).reduce(0, +),
            itemsUnsent: streamed.map(\.itemsUnsent).reduce(0, +),
            meanDeliveredShare: mean(streamed.filter { $0.itemsGenerated > 0 }.map { Double($0.itemsSent) / Double($0.itemsGenerated) }),
            finalAnswerRate: mean(streamed.map { $0.finalAnswer ? 1 : 0 }),
            meanBatchesPerRequest: mean(streamed.map { Double($0.batches) }),
            largestBatch: streamed.map(\.largestBatch).max() ?? 0,
            batchesAboveLimit: streamed.map(\.batchesAbove).reduce(0, +),
            meanBatchGap: mean(streamed.compactMap(\.meanGap)),
            requestsPerMinute: Double(facts.count) / minutes,
            rejectionRate: facts.isEmpty ? 0 : Double(rejected.count) / Double(facts.count),
            meanTimeout: mean(streamed.compactMap(\.timeout))
        )
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
