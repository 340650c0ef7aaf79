import Config
import Foundation
import LogStore
import Logging
import PostgresNIO

public struct FleetAnalysisError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `miners status --since/--by` and `miners report` over the fleet's PostgreSQL: the same
/// `RequestAnalysis.Figures` as over SQLite, computed in PostgreSQL. A window is read as whole
/// days from the daily rollups (`fleet_rollups`, `fleet_ttfb_histograms`, migrations/postgres/0002 and 0003), the
/// whole hours around them from the hourly ones, and the partial hours at its edges from raw
/// rows: counts, items and means exact, percentiles of the time to first batch within 1%.
public enum FleetAnalysis {
    static let streamedOutcomes = "('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect')"
    static let known = "('complete', 'partial_timeout', 'empty_timeout', 'empty', 'stream_error', 'client_disconnect', 'rejected')"

    /// The parts of `[from, to)`: raw stretches, and rollup periods (span 3600 or 86400).
    struct Plan: Equatable {
        var raw: [ClosedOpen] = []
        var periods: [(span: Int, range: ClosedOpen)] = []
        struct ClosedOpen: Equatable { var from: Double, to: Double }
        static func == (a: Plan, b: Plan) -> Bool {
            a.raw == b.raw && a.periods.map(\.span) == b.periods.map(\.span) && a.periods.map(\.range) == b.periods.map(\.range)
        }

        init(from: Double, to: Double) {
            let hour = 3600.0, day = 86400.0
            let h0 = (from / hour).rounded(.up) * hour, h1 = (to / hour).rounded(.down) * hour
            guard h0 < h1 else {
                if from < to { raw = [.init(from: from, to: to)] }
                return
            }
            if from < h0 { raw.append(.init(from: from, to: h0)) }
            if h1 < to { raw.append(.init(from: h1, to: to)) }
            let d0 = (h0 / day).rounded(.up) * day, d1 = (h1 / day).rounded(.down) * day
            if d0 < d1 {
                if h0 < d0 { periods.append((3600, .init(from: h0, to: d0))) }
                periods.append((86400, .init(from: d0, to: d1)))
                if d1 < h1 { periods.append((3600, .init(from: d1, to: h1))) }
            } else {
                periods.append((3600, .init(from: h0, to: h1)))
            }
        }
    }

    static func expression(_ dimension: RequestAnalysis.Dimension) -> String {
        switch dimension {
        case .host: "host"
        case .miner: "worker"
        case .hotkey: "miner_hotkey"
        case .backend: "backend"
        case .batchSize: "batch_size"
        case .validator: "validator_hotkey"
        }
    }

    /// SQL pieces with their bindings, numbered as appended.
    struct Statement {
        var binds = PostgresBindings()
        var count = 0
        mutating func bind(_ value: Double) -> String {
            binds.append(value)
            count += 1
            return "$\(count)::float8"
        }
        mutating func bind(_ values: [String]) -> String {
            binds.append(values)
            count += 1
            return "$\(count)::text[]"
        }
        mutating func bind(_ value: Int) -> String {
            binds.append(value)
            count += 1
            return "$\(count)::bigint"
        }
        var keys: [String] = []
        mutating func filters(_ query: RequestAnalysis.Query) -> String {
            query.filters.sorted { $0.key.rawValue < $1.key.rawValue }.filter { !$0.value.isEmpty }.map {
                " AND \(FleetAnalysis.expression($0.key))::text = ANY(\(bind($0.value)))"
            }.joined()
        }
    }

    static func keyColumns(_ query: RequestAnalysis.Query) -> [String] {
        query.groupBy.enumerated().map { "coalesce(nullif(\(expression($1))::text, ''), '-') AS k\($0)" }
    }

    /// The figures of the window, grouped and filtered as the query says.
    public static func run(_ url: PostgresURL, _ query: RequestAnalysis.Query) async throws -> [RequestAnalysis.Figures] {
        try RequestAnalysis.run([], query, adding: try await totals(url, query))
    }

    /// The window's groups, each keyed as `RequestAnalysis.key` and possibly in several parts,
    /// to add up with other databases' groups. The sums and the histogram are read at once, on
    /// two connections (two server processes).
    public static func totals(_ url: PostgresURL, _ query: RequestAnalysis.Query) async throws -> [RequestAnalysis.KeyedTotals] {
        try await FleetDatabase.withConnections(url, count: 2, logger: logger) { try await totals($0[0], $0[1], query) }
    }

    static func totals(
        _ first: PostgresConnection, _ second: PostgresConnection, _ query: RequestAnalysis.Query
    ) async throws -> [RequestAnalysis.KeyedTotals] {
        try await sameSnapshot(first, second) { try await totalsInSnapshot(first, second, query) }
    }

    /// `body` with both connections in one read-only transaction snapshot (the second imports the
    /// first's), so the counts and the percentiles describe the same rows while hosts replicate.
    static func sameSnapshot<T: Sendable>(
        _ first: PostgresConnection, _ second: PostgresConnection, _ body: () async throws -> T
    ) async throws -> T {
        guard first !== second else { return try await body() }
        try await first.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
        var snapshot = ""
        for try await id in try await first.query("SELECT pg_export_snapshot()", logger: logger).decode(String.self) { snapshot = id }
        // Its id goes into SET (which takes no parameters): only the characters PostgreSQL uses.
        guard !snapshot.isEmpty, snapshot.utf8.count <= 64,
              snapshot.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "0123456789ABCDEFabcdef-").contains($0) })
        else { throw FleetAnalysisError("the server exported an unexpected snapshot id") }
        try await second.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
        try await second.query(PostgresQuery(unsafeSQL: "SET TRANSACTION SNAPSHOT '\(snapshot)'"), logger: logger)
        let result = try await body()
        try await second.query("COMMIT", logger: logger)
        try await first.query("COMMIT", logger: logger)
        return result
    }

    static func totalsInSnapshot(
        _ first: PostgresConnection, _ second: PostgresConnection, _ query: RequestAnalysis.Query
    ) async throws -> [RequestAnalysis.KeyedTotals] {
        async let histograms = histograms(second, query)
        var parts = try await sums(first, query)
        let keys = Set(parts.map(\.key))
        for (key, buckets) in try await histograms where keys.contains(key) {
            var totals = RequestAnalysis.Totals()
            totals.ttfbBuckets = buckets
            parts.append((key, totals))
        }
        if query.largeBatch != RequestRollups.largeBatch {
            for (key, count) in try await batchesAboveLimit(first, query) where keys.contains(key) {
                var totals = RequestAnalysis.Totals()
                totals.batchesAboveLimit = count
                parts.append((key, totals))
            }
        }
        return parts
    }

    static func key(_ cells: PostgresRandomAccessRow, count: Int) throws -> String {
        RequestAnalysis.key(try (0..<count).map { try cells[$0].decode(String.self) })
    }

    /// Counts, sums and means per group and outcome: rollup rows of whole periods, raw rows of
    /// the partial hours at the edges.
    static func sums(_ connection: PostgresConnection, _ query: RequestAnalysis.Query) async throws -> [RequestAnalysis.KeyedTotals] {
        let plan = Plan(from: query.from, to: query.to)
        let keys = keyColumns(query)
        let keyNames = keys.indices.map { "k\($0)" }
        let largeBatch = query.largeBatch
        let sumColumns = [
            "requests", "items_sent", "items_unsent", "items_generated", "bytes_sent", "batches", "largest_batch", "batches_over_200",
            "final_answers", "total_s_sum", "total_n", "arrival_lag_s_sum", "arrival_lag_n", "queue_wait_s_sum", "queue_wait_n",
            "timeout_s_sum", "timeout_n", "delivered_sum", "delivered_n", "batch_gap_s_sum", "batch_gap_n",
        ]
        var sums = Statement()
        var parts: [String] = []
        for period in plan.periods {
            let columns = sumColumns.map { $0 == "batches_over_200" && largeBatch != RequestRollups.largeBatch ? "0 AS batches_over_200" : $0 }
            parts.append("""
                SELECT \((keys + ["outcome", "reason"] + columns).joined(separator: ", ")) FROM fleet_rollups
                WHERE span = \(period.span) AND period_start >= \(sums.bind(period.range.from)) AND period_start < \(sums.bind(period.range.to))
                    AND requests <> 0\(sums.filters(query))
                """)
        }
        func streamed(_ value: String, _ condition: String = "") -> String {
            "CASE WHEN r.outcome <> 'rejected'\(condition) THEN \(value) ELSE 0 END"
        }
        for stretch in plan.raw {
            let limit = sums.bind(largeBatch)
            let raw = [
                "greatest(r.count, 1)", streamed("r.items_sent"), streamed("r.items_unsent"), streamed("r.items_generated"),
                streamed("r.bytes_sent"), streamed("r.batches"), streamed("r.largest_batch"),
                streamed("(SELECT count(*) FROM batches b WHERE b.host = r.host AND b.request_id = r.local_id AND b.items > \(limit))",
                         " AND r.largest_batch > \(limit)"),
                streamed("1", " AND r.final_answer_sent <> 0"),
                streamed("r.finished_at - r.received_at"), streamed("1"),
                streamed("r.received_at - r.nonce::float8 / 1e9::float8", " AND r.nonce IS NOT NULL"), streamed("1", " AND r.nonce IS NOT NULL"),
                streamed("r.queue_wait_s", " AND r.queue_wait_s IS NOT NULL"), streamed("1", " AND r.queue_wait_s IS NOT NULL"),
                streamed("r.timeout", " AND r.timeout IS NOT NULL"), streamed("1", " AND r.timeout IS NOT NULL"),
                streamed("r.items_sent::float8 / r.items_generated", " AND r.items_generated > 0"), streamed("1", " AND r.items_generated > 0"),
                streamed("r.batch_span_s / (r.batches - 1)", " AND r.batches > 1 AND r.batch_span_s IS NOT NULL"),
                streamed("1", " AND r.batches > 1 AND r.batch_span_s IS NOT NULL"),
            ]
            let columns = zip(raw, sumColumns).map { "\($0) AS \($1)" }
            parts.append("""
                SELECT \((keys + ["r.outcome", "CASE WHEN r.outcome = 'rejected' THEN coalesce(r.reason, '-') ELSE '' END AS reason"] + columns).joined(separator: ", "))
                FROM requests r WHERE r.received_at >= \(sums.bind(stretch.from)) AND r.received_at < \(sums.bind(stretch.to))
                    AND r.outcome IN \(known)\(sums.filters(query))
                """)
        }
        guard !parts.isEmpty else { return [] }
        let aggregates = sumColumns.map { column in
            column == "largest_batch" ? "max(largest_batch)::bigint"
                : column.hasSuffix("_sum") ? "sum(\(column))::float8" : "sum(\(column))::bigint"
        }
        let group = (keyNames + ["outcome", "reason"]).joined(separator: ", ")
        let sql = """
            SELECT \((keyNames + ["outcome", "reason"] + aggregates).joined(separator: ", "))
            FROM (\(parts.joined(separator: "\nUNION ALL\n"))) u GROUP BY \(group)
            """
        var groups: [RequestAnalysis.KeyedTotals] = []
        let n = keys.count
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: sums.binds), logger: logger) {
            let cells = row.makeRandomAccess()
            func text(_ index: Int) throws -> String { try cells[index].decode(String.self) }
            func int(_ index: Int) throws -> Int { try cells[index].decode(Int.self) }
            func double(_ index: Int) throws -> Double { try cells[index].decode(Double.self) }
            let outcome = try text(n), reason = try text(n + 1)
            var values: [String: Int] = [:]
            var reals: [String: Double] = [:]
            for (offset, column) in sumColumns.enumerated() {
                if column.hasSuffix("_sum") { reals[column] = try double(n + 2 + offset) } else { values[column] = try int(n + 2 + offset) }
            }
            let requests = values["requests"]!
            guard RequestRecord.outcomes.contains(outcome), requests != 0 else { continue }
            // One part per row: GroupTotals adds the parts up (saturating, never trapping).
            var totals = RequestAnalysis.Totals()
            totals.requests = requests
            totals.outcomes[outcome] = requests
            if outcome == "rejected" { totals.rejections[reason] = requests }
            totals.itemsSent = values["items_sent"]!
            if outcome.hasSuffix("_timeout") { totals.itemsSentBeforeTimeout = values["items_sent"]! }
            totals.itemsUnsent = values["items_unsent"]!
            totals.itemsGenerated = values["items_generated"]!
            totals.bytesSent = values["bytes_sent"]!
            totals.largestBatch = values["largest_batch"]!
            totals.batchesAboveLimit = values["batches_over_200"]!
            let streamedCount = values["total_n"]!
            totals.total = .init(sum: reals["total_s_sum"]!, count: streamedCount)
            totals.batches = .init(sum: Double(values["batches"]!), count: streamedCount)
            totals.finalAnswer = .init(sum: Double(values["final_answers"]!), count: streamedCount)
            totals.arrivalLag = .init(sum: reals["arrival_lag_s_sum"]!, count: values["arrival_lag_n"]!)
            totals.queueWait = .init(sum: reals["queue_wait_s_sum"]!, count: values["queue_wait_n"]!)
            totals.timeout = .init(sum: reals["timeout_s_sum"]!, count: values["timeout_n"]!)
            totals.deliveredShare = .init(sum: reals["delivered_sum"]!, count: values["delivered_n"]!)
            totals.batchGap = .init(sum: reals["batch_gap_s_sum"]!, count: values["batch_gap_n"]!)
            groups.append((try Self.key(cells, count: n), totals))
        }
        return groups
    }

    /// Times to first batch per group: the histogram rows of the periods and the raw rows' buckets.
    static func histograms(_ connection: PostgresConnection, _ query: RequestAnalysis.Query) async throws -> [String: [Int: Int]] {
        let plan = Plan(from: query.from, to: query.to)
        let keys = keyColumns(query)
        let n = keys.count
        var ttfb = Statement()
        var parts: [String] = []
        // Each part gives (key, first bucket, counts): the stored arrays of the periods
        // (migrations/postgres/0003), the raw rows' buckets one count each.
        for period in plan.periods {
            parts.append("""
                SELECT \((keys + ["first_bucket", "counts"]).joined(separator: ", ")) FROM fleet_ttfb_histograms
                WHERE span = \(period.span) AND period_start >= \(ttfb.bind(period.range.from)) AND period_start < \(ttfb.bind(period.range.to))\(ttfb.filters(query))
                """)
        }
        for stretch in plan.raw {
            parts.append("""
                SELECT \((keys + ["fleet_ttfb_bucket(r.first_batch_at - r.received_at) AS first_bucket", "ARRAY[count(*)] AS counts"]).joined(separator: ", "))
                FROM requests r WHERE r.received_at >= \(ttfb.bind(stretch.from)) AND r.received_at < \(ttfb.bind(stretch.to))
                    AND r.outcome IN \(streamedOutcomes) AND r.first_batch_at IS NOT NULL\(ttfb.filters(query))
                GROUP BY \((keys.indices.map { "\($0 + 1)" } + ["\(n + 1)"]).joined(separator: ", "))
                """)
        }
        guard !parts.isEmpty else { return [:] }
        // Summed here: an element-wise sum of arrays has no aggregate in PostgreSQL, and
        // unnesting them there costs a hash aggregation over every bucket of every period.
        var sums: [String: Histogram] = [:]
        let sql = parts.joined(separator: "\nUNION ALL\n")
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: ttfb.binds), logger: logger) {
            let cells = row.makeRandomAccess()
            let key = try Self.key(cells, count: n)
            let first = try cells[n].decode(Int.self), counts = try cells[n + 1].decode([Int].self)
            // Buckets outside fleet_ttfb_bucket's range (-349 to 2000; a hand-written row) are left out.
            guard (-349...2000).contains(first) else { continue }
            sums[key, default: Histogram()].add(first: first, counts.prefix(2000 - first + 1))
        }
        return sums.mapValues(\.buckets)
    }

    /// Counts per bucket from `first` on, grown as buckets arrive (a group's span, not every bucket).
    struct Histogram {
        var first = 0
        var counts: [Int] = []

        mutating func add(first start: Int, _ values: ArraySlice<Int>) {
            guard !values.isEmpty else { return }
            if counts.isEmpty { first = start }
            if start < first {
                counts.insert(contentsOf: repeatElement(0, count: first - start), at: 0)
                first = start
            }
            let missing = start + values.count - first - counts.count
            if missing > 0 { counts.append(contentsOf: repeatElement(0, count: missing)) }
            for (index, value) in zip((start - first)..., values) where value != 0 { counts[index] = RequestAnalysis.adding(counts[index], value) }
        }

        var buckets: [Int: Int] {
            var result: [Int: Int] = [:]
            for (index, count) in counts.enumerated() where count > 0 { result[first + index] = count }
            return result
        }
    }


    /// Batches over a limit other than SN1's 200: from the batch rows of the whole periods.
    static func batchesAboveLimit(_ connection: PostgresConnection, _ query: RequestAnalysis.Query) async throws -> [String: Int] {
        let plan = Plan(from: query.from, to: query.to)
        let keys = keyColumns(query)
        let keyNames = keys.indices.map { "k\($0)" }
        let n = keys.count
        var counts: [String: Int] = [:]

        if let first = plan.periods.first, let last = plan.periods.last {
            var large = Statement()
            let limit = large.bind(query.largeBatch)
            let sql = """
                SELECT \((keys + ["count(*)::bigint"]).joined(separator: ", "))
                FROM requests r JOIN batches b ON b.host = r.host AND b.request_id = r.local_id
                WHERE r.received_at >= \(large.bind(first.range.from)) AND r.received_at < \(large.bind(last.range.to))
                    AND r.largest_batch > \(limit) AND b.items > \(limit) AND r.outcome IN \(streamedOutcomes)\(large.filters(query))
                GROUP BY \(keyNames.isEmpty ? "()" : keyNames.joined(separator: ", "))
                """
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: large.binds), logger: logger) {
                let cells = row.makeRandomAccess()
                counts[try Self.key(cells, count: n)] = try cells[n].decode(Int.self)
            }
        }
        return counts
    }


    /// What `miners report` draws, over the fleet: the window's requests summed in PostgreSQL per
    /// miner, outcome, hour, time-to-first-batch bucket and delivered share (to 1%), the slowest
    /// requests with their batches, the per-validator table and the hotkeys' standing.
    public static func report(_ url: PostgresURL, from: Double, to: Double, slowest count: Int = 10) async throws -> ReportQueries.Part {
        try await FleetDatabase.withConnections(url, count: 2, logger: logger) { connections in
            let connection = connections[0]
            var requests: [ReportQueries.Request] = []
            var statement = Statement()
            let sql = """
                SELECT worker, outcome, floor(received_at / 3600) * 3600 + 1800 AS at,
                    CASE WHEN first_batch_at IS NOT NULL THEN fleet_ttfb_bucket(first_batch_at - received_at) END AS bucket,
                    CASE WHEN items_generated > 0 THEN round((items_sent::float8 / items_generated)::numeric, 2)::float8 END AS share,
                    sum(greatest(count, 1))::bigint
                FROM requests WHERE received_at >= \(statement.bind(from)) AND received_at < \(statement.bind(to)) AND outcome IN \(known)
                GROUP BY 1, 2, 3, 4, 5
                """
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: statement.binds), logger: logger) {
                let (worker, outcome, at, bucket, share, requestCount) = try row.decode((String, String, Double, Int?, Double?, Int).self)
                requests.append(ReportQueries.Request.make(
                    worker: worker, outcome: outcome, receivedAt: min(max(at, from), to),
                    ttfb: bucket.map { pow(1.02, Double($0) + 0.5) / 1000 }, deliveredShare: share, count: requestCount
                ))
            }
            var slow = Statement()
            let slowSQL = """
                SELECT host, local_id, worker, coalesce(validator_hotkey, '-'), outcome, timeout, finished_at - received_at AS total
                FROM requests WHERE received_at >= \(slow.bind(from)) AND received_at < \(slow.bind(to)) AND outcome <> 'rejected'
                ORDER BY total DESC LIMIT \(slow.bind(count))
                """
            var rows: [(String, Int, String, String, String, Double?, Double)] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: slowSQL, binds: slow.binds), logger: logger) {
                rows.append(try row.decode((String, Int, String, String, String, Double?, Double).self))
            }
            var timelines: [ReportQueries.Timeline] = []
            for (host, id, worker, validator, outcome, timeout, total) in rows {
                var offsets: [Double] = []
                let batches: PostgresQuery = "SELECT offset_s FROM batches WHERE host = \(host) AND request_id = \(id) ORDER BY seq"
                for try await row in try await connection.query(batches, logger: logger) { offsets.append(try row.decode(Double.self)) }
                timelines.append(.make(worker: worker, validator: validator, outcome: outcome, timeout: timeout, total: total, batchOffsets: offsets))
            }
            var query = RequestAnalysis.Query(from: from, to: to)
            query.groupBy = [.validator]
            return ReportQueries.Part(
                requests: requests, slowest: timelines, validators: try await totals(connection, connections[1], query),
                standing: try await standing(connection, from: from, to: to)
            )
        }
    }

    /// The standing rows of the window (every host's), oldest first.
    static func standing(_ connection: PostgresConnection, from: Double, to: Double) async throws -> [StandingRecord] {
        let sql: PostgresQuery = """
            SELECT at, miner, hotkey, network, netuid, block, tempo, registered, uid, stake, rank, trust, incentive, emission,
                last_update, registration_block, immunity_left
            FROM standing WHERE at >= \(from) AND at < \(to) ORDER BY at, host, local_id
            """
        var records: [StandingRecord] = []
        for try await row in try await connection.query(sql, logger: logger) {
            let cells = row.makeRandomAccess()
            func value<T: PostgresDecodable>(_ index: Int, _ type: T.Type = T.self) throws -> T { try cells[index].decode(T.self) }
            records.append(StandingRecord(
                at: try value(0), miner: try value(1), hotkey: try value(2), network: try value(3), netuid: try value(4),
                block: try value(5), tempo: try value(6), registered: try value(7, Int.self) != 0, uid: try value(8),
                stake: try value(9), rank: try value(10), trust: try value(11), incentive: try value(12), emission: try value(13),
                lastUpdate: try value(14), registrationBlock: try value(15), immunityLeft: try value(16)
            ))
        }
        return records
    }

    static let logger: Logger = {
        var logger = Logger(label: "miners.fleet-analysis")
        logger.logLevel = .error
        return logger
    }()

}
