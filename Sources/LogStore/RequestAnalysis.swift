import Foundation
import GRDB

/// The analysis behind `miners status --since/--by`: requests of a time window, grouped, with
/// the figures that tell how much of each answer reached the validator in time.
public enum RequestAnalysis {
    /// What a group can be keyed or filtered by.
    public enum Dimension: String, CaseIterable, Sendable {
        case miner, hotkey, backend, batchSize = "batch-size", validator
        /// The machine (`fleet.host`): a column of the fleet's PostgreSQL tables; one SQLite log
        /// is one machine's, so there every row's host is '-'.
        case host

        var column: String {
            switch self {
            case .host: "'-'"
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
    /// percentiles. `others` are groups summed elsewhere (the fleet's PostgreSQL), added up.
    public static func run(_ databases: [DatabaseQueue], _ query: Query, adding others: [KeyedTotals] = []) throws -> [Figures] {
        var groups: [String: GroupTotals] = [:]
        for (key, totals) in others { groups[key, default: GroupTotals()].add(GroupTotals(totals)) }
        for database in databases {
            try Migrations.migrate(database)
            try database.read { db in
                let parts = Parts(query, state: try RetentionState.read(db))
                if let rollups = parts.rollups { try RequestRollups.scan(db, rollups, into: &groups) }
                if let raw = parts.raw {
                    try WindowScan(query: raw).scan(db, into: &groups)
                }
                if let kept = parts.rawBatches {
                    for (key, count) in try batchesAboveLimit(db, kept) {
                        if let sum = groups[key]?.batchesAboveLimit { groups[key]?.batchesAboveLimit = GroupTotals.adding(sum, count) }
                    }
                }
                if let gone = parts.rawWithoutBatches, query.largeBatch == RequestRollups.largeBatch {
                    for (key, count) in try RequestRollups.batchesAboveLimit(db, gone) {
                        if let sum = groups[key]?.batchesAboveLimit {
                            groups[key]?.batchesAboveLimit = GroupTotals.adding(sum, min(max(count, 0), RequestRollups.maxCount))
                        }
                    }
                }
            }
        }
        let minutes = max((query.to - query.from) / 60, 1e-9)
        return groups.sorted { $0.key < $1.key }.map { key, totals in
            totals.figures(group: Dictionary(uniqueKeysWithValues: zip(query.groupBy.map(\.rawValue), WindowScan.parts(of: key))), minutes: minutes)
        }
    }

    /// Part of a group's totals; a group may come in several parts (`key(_:)`).
    public typealias KeyedTotals = (key: String, totals: Totals)

    /// The key of a group whose values (one per `Query.groupBy` dimension) are `values`.
    public static func key(_ values: [String]) -> String { values.joined(separator: WindowScan.separator) }

    /// Where a window's figures come from in one database: hourly rollups before retention's
    /// `requests_until` (from the hour `from` falls in), raw rows after it; raw requests whose
    /// batch rows are gone take their count of large batches from the rollups of their hours.
    struct Parts {
        var rollups: Query?
        var raw: Query?
        /// The raw part whose batch rows are kept.
        var rawBatches: Query?
        /// The hours of the raw part whose batch rows are gone.
        var rawWithoutBatches: Query?

        init(_ query: Query, state: RetentionState) {
            func part(_ from: Double, _ to: Double) -> Query? {
                guard from < to else { return nil }
                var part = query
                part.from = from
                part.to = to
                return part
            }
            let boundary = state.requestsUntil
            rollups = part(RequestRollups.hourStart(query.from), min(query.to, boundary))
            let rawFrom = max(query.from, boundary)
            raw = part(rawFrom, query.to)
            rawBatches = part(max(rawFrom, state.batchesUntil), query.to)
            guard raw != nil, state.batchesUntil > rawFrom else { return }
            rawWithoutBatches = part(RequestRollups.hourStart(rawFrom), min(query.to, state.batchesUntil))
        }
    }

    /// What a window reads, over every database: the hours taken from rollups (nil when none)
    /// and where raw rows start; for `status` and `report` to say which.
    public struct Coverage: Sendable, Equatable, Codable {
        public var rollupsFrom: Double?
        public var rollupsTo: Double?
        public var rawFrom: Double?
        /// Set when batches over a limit other than SN1's 200 are counted: only from batch rows,
        /// which are kept from here on (rollups count batches over 200 alone).
        public var largeBatchesFrom: Double?
        public var largeBatch = RequestRollups.largeBatch

        /// What to tell the reader when part of the window is not in raw rows; nil otherwise.
        public var note: String? {
            func date(_ time: Double) -> String { Date(timeIntervalSince1970: time).formatted(.iso8601) }
            var parts: [String] = []
            if let rollupsFrom, let rollupsTo {
                let raw = rawFrom.map { "; raw rows from \(date($0))" } ?? ""
                parts.append("from hourly rollups \(date(rollupsFrom)) to \(date(rollupsTo)) (retention deleted the raw rows: whole "
                    + "hours, refusals per reason, times to first batch within 1%)\(raw)")
            }
            if let largeBatchesFrom {
                parts.append("batches over \(largeBatch) items counted only from \(date(largeBatchesFrom)), where batch rows are kept "
                    + "(rollups count those over \(RequestRollups.largeBatch))")
            }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
    }

    public static func coverage(_ databases: [DatabaseQueue], _ query: Query) throws -> Coverage {
        var coverage = Coverage()
        for database in databases {
            let parts = try database.read { db in Parts(query, state: try RetentionState.read(db)) }
            if let rollups = parts.rollups {
                coverage.rollupsFrom = min(coverage.rollupsFrom ?? rollups.from, rollups.from)
                coverage.rollupsTo = max(coverage.rollupsTo ?? rollups.to, rollups.to)
            }
            if let raw = parts.raw { coverage.rawFrom = min(coverage.rawFrom ?? raw.from, raw.from) }
            if query.largeBatch != RequestRollups.largeBatch, parts.rollups != nil || parts.rawWithoutBatches != nil {
                let kept = parts.rawBatches?.from ?? query.to
                coverage.largeBatchesFrom = max(coverage.largeBatchesFrom ?? kept, kept)
                coverage.largeBatch = query.largeBatch
            }
        }
        return coverage
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
