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

    /// The groups of the window over one or more databases (one per machine), merged. The work
    /// is done by SQLite over the databases attached side by side, so a million requests cost
    /// one scan of the window rather than a million rows copied out.
    public static func run(_ databases: [DatabaseQueue], _ query: Query) throws -> [Figures] {
        for database in databases { try Migrations.migrate(database) }
        let workspace = try DatabaseQueue()
        return try workspace.writeWithoutTransaction { db in
            for (index, database) in databases.enumerated() {
                try db.execute(sql: "ATTACH DATABASE ? AS source\(index)", arguments: [database.path])
            }
            let columns = """
                worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, received_at, first_batch_at,
                finished_at, nonce, queue_wait_s, timeout, items_sent, items_unsent, items_generated, final_answer_sent,
                batches, largest_batch, batch_span_s
                """
            try db.execute(sql: "CREATE TEMP VIEW window_requests AS " + databases.indices.map {
                "SELECT id, \($0) AS source, \(columns) FROM source\($0).requests"
            }.joined(separator: " UNION ALL "))

            var conditions = ["received_at >= ?", "received_at < ?"]
            var filterArguments: [(any DatabaseValueConvertible)?] = [query.from, query.to]
            for (dimension, values) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !values.isEmpty {
                conditions.append("CAST(\(dimension.column) AS TEXT) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
                filterArguments += values.map { $0 }
            }
            let filter = conditions.joined(separator: " AND ")
            let keys = query.groupBy.map { "coalesce(CAST(\($0.column) AS TEXT), '-')" }
            let keyList = keys.isEmpty ? "''" : keys.joined(separator: ", ")
            let groupList = keys.isEmpty ? "1" : keys.indices.map { String($0 + 1) }.joined(separator: ", ")
            let streamed = "outcome != 'rejected'"
            let outcomeNames = ["complete", "partial_timeout", "empty_timeout", "empty", "stream_error", "client_disconnect", "rejected"]
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(keyList), count(*),
                       \(outcomeNames.map { "sum(outcome = '\($0)')" }.joined(separator: ", ")),
                       avg(CASE WHEN \(streamed) THEN finished_at - received_at END),
                       avg(CASE WHEN nonce IS NOT NULL THEN received_at - nonce / 1e9 END),
                       avg(CASE WHEN \(streamed) THEN queue_wait_s END),
                       sum(CASE WHEN outcome IN ('partial_timeout', 'empty_timeout') THEN items_sent ELSE 0 END),
                       sum(CASE WHEN \(streamed) THEN items_unsent ELSE 0 END),
                       avg(CASE WHEN \(streamed) AND items_generated > 0 THEN 1.0 * items_sent / items_generated END),
                       avg(CASE WHEN \(streamed) THEN final_answer_sent END),
                       avg(CASE WHEN \(streamed) THEN batches END),
                       max(CASE WHEN \(streamed) THEN largest_batch END),
                       avg(CASE WHEN \(streamed) AND batches > 1 THEN batch_span_s / (batches - 1) END),
                       avg(CASE WHEN \(streamed) THEN timeout END),
                       sum(CASE WHEN \(streamed) AND first_batch_at IS NOT NULL THEN 1 ELSE 0 END)
                FROM window_requests WHERE \(filter) GROUP BY \(groupList)
                """, arguments: StatementArguments(filterArguments))
            let keyCount = max(keys.count, 1)
            func key(_ row: Row) -> [String] { keys.isEmpty ? [] : (0..<keys.count).map { row[$0] } }

            // Rejections by reason; batches over the limit (only requests whose largest batch is
            // over it need their batches read); percentiles of the time to first batch.
            var rejections: [[String]: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT \(keyList), coalesce(reason, '-'), count(*) FROM window_requests
                WHERE \(filter) AND outcome = 'rejected' GROUP BY \(groupList), \(keyCount + 1)
                """, arguments: StatementArguments(filterArguments)) {
                rejections[key(row), default: [:]][row[keyCount]] = row[keyCount + 1]
            }
            // Only requests whose largest batch is over the limit need their batches read.
            var above: [[String]: Int] = [:]
            let perSource = databases.indices.map { index in
                """
                SELECT \(keyList), count(*) AS over FROM source\(index).requests
                JOIN source\(index).batches ON batches.request_id = requests.id
                WHERE largest_batch > ? AND items > ? AND \(filter) AND \(streamed) GROUP BY \(groupList)
                """
            }.joined(separator: " UNION ALL ")
            for row in try Row.fetchAll(db, sql: "SELECT * FROM (\(perSource))", arguments: StatementArguments(
                databases.flatMap { _ in [query.largeBatch, query.largeBatch] as [(any DatabaseValueConvertible)?] + filterArguments }
            )) {
                above[key(row), default: 0] += row[keyCount]
            }

            // Percentiles of the time to first batch: one pass over the values in order, each
            // group's count (from the aggregate) telling which ranks to keep.
            let ranks = [0.50, 0.95, 0.99]
            let ttfbCountColumn = keyCount + 1 + outcomeNames.count + 11
            // The group as one text (parts joined by U+001F), which is cheap to compare per row.
            let keyText = keys.isEmpty ? "''" : keys.joined(separator: " || char(31) || ")
            func text(_ group: [String]) -> String { group.joined(separator: "\u{1F}") }
            var wanted: [String: [Int]] = [:]
            for row in rows {
                let count: Int = row[ttfbCountColumn] ?? 0
                wanted[text(key(row))] = ranks.map { max(1, Int(($0 * Double(count)).rounded(.up))) }
            }
            var seen: [String: Int] = [:]
            var percentiles: [String: [Double?]] = [:]
            let values = try Row.fetchCursor(db, sql: """
                SELECT \(keyText), first_batch_at - received_at AS ttfb FROM window_requests
                WHERE \(filter) AND \(streamed) AND first_batch_at IS NOT NULL ORDER BY ttfb
                """, arguments: StatementArguments(filterArguments))
            while let row = try values.next() {
                let group: String = row[0]
                let rank = (seen[group] ?? 0) + 1
                seen[group] = rank
                guard let targets = wanted[group], targets.contains(rank) else { continue }
                var list = percentiles[group] ?? [nil, nil, nil]
                for (index, target) in targets.enumerated() where target == rank { list[index] = row[1] }
                percentiles[group] = list
            }

            let minutes = max((query.to - query.from) / 60, 1e-9)
            return rows.map { row -> Figures in
                let group = key(row)
                let base = keyCount
                let requests: Int = row[base]
                var outcomes: [String: Int] = [:]
                for (index, name) in outcomeNames.enumerated() where (row[base + 1 + index] as Int) > 0 { outcomes[name] = row[base + 1 + index] }
                let p = percentiles[text(group)] ?? [nil, nil, nil]
                let figures = base + 1 + outcomeNames.count
                return Figures(
                    group: Dictionary(uniqueKeysWithValues: zip(query.groupBy.map(\.rawValue), group)),
                    requests: requests, outcomes: outcomes, rejections: rejections[group] ?? [:],
                    ttfbP50: p[0], ttfbP95: p[1], ttfbP99: p[2],
                    meanTotal: row[figures], meanArrivalLag: row[figures + 1], meanQueueWait: row[figures + 2],
                    itemsSentBeforeTimeout: row[figures + 3] ?? 0, itemsUnsent: row[figures + 4] ?? 0,
                    meanDeliveredShare: row[figures + 5], finalAnswerRate: row[figures + 6],
                    meanBatchesPerRequest: row[figures + 7], largestBatch: row[figures + 8] ?? 0,
                    batchesAboveLimit: above[group] ?? 0, meanBatchGap: row[figures + 9],
                    requestsPerMinute: Double(requests) / minutes,
                    rejectionRate: requests == 0 ? 0 : Double(outcomes["rejected"] ?? 0) / Double(requests),
                    meanTimeout: row[figures + 10]
                )
            }.sorted { $0.group.sorted { $0.key < $1.key }.map(\.value).lexicographicallyPrecedes($1.group.sorted { $0.key < $1.key }.map(\.value)) }
        }
    }
}
