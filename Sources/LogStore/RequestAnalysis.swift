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

    /// The groups of the window over one or more databases (one per machine), merged.
    ///
    /// One pass over each database's window, summed in Swift: a GROUP BY in SQLite sorts every
    /// row of the window with all its columns first, which over a million requests costs more
    /// than the scan itself. The time to first batch is kept per group and sorted for exact
    /// percentiles.
    public static func run(_ databases: [DatabaseQueue], _ query: Query) throws -> [Figures] {
        var groups: [String: GroupTotals] = [:]
        for database in databases {
            try Migrations.migrate(database)
            try database.read { db in
                try WindowScan(query: query).scan(db, into: &groups)
                for (key, count) in try batchesAboveLimit(db, query) { groups[key]?.batchesAboveLimit += count }
            }
        }
        let minutes = max((query.to - query.from) / 60, 1e-9)
        return groups.sorted { $0.key < $1.key }.map { key, totals in
            totals.figures(group: Dictionary(uniqueKeysWithValues: zip(query.groupBy.map(\.rawValue), WindowScan.parts(of: key))), minutes: minutes)
        }
    }

    /// Batches over the size limit per group: only requests whose largest batch is over it
    /// (an index finds them) have their batches read.
    static func batchesAboveLimit(_ db: Database, _ query: Query) throws -> [String: Int] {
        let scan = WindowScan(query: query)
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT \(scan.keyText), count(*) FROM requests JOIN batches ON batches.request_id = requests.id
            WHERE largest_batch > ? AND items > ? AND \(scan.filter) AND outcome != 'rejected' GROUP BY 1
            """, arguments: StatementArguments([query.largeBatch, query.largeBatch] + scan.filterArguments)) {
            result[row[0]] = row[1]
        }
        return result
    }
}
