import Foundation
import LogStore
import Logging
import PostgresNIO

/// A `postgres://user:password@host:port/database` URL, parsed; `redacted` (the password as
/// `***`) is the only form ever printed, and errors are scrubbed of the password.
public struct FleetURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let user: String
    let password: String?
    public let database: String?
    public let redacted: String

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws {
        guard Self.isPostgres(text), let parts = URLComponents(string: text), let host = parts.host, !host.isEmpty else {
            throw FleetAnalysisError("not a postgres://user:password@host:port/database URL: \(Self.redact(text))")
        }
        self.host = host
        port = parts.port ?? 5432
        user = parts.user ?? "postgres"
        password = parts.password
        let name = String(parts.path.drop(while: { $0 == "/" }))
        database = name.isEmpty ? nil : name
        if let mode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value, !["disable", "allow", "prefer"].contains(mode) {
            throw FleetAnalysisError("sslmode=\(mode) is not supported by the fleet analysis yet: \(Self.redact(text))")
        }
        redacted = Self.redact(text)
    }

    public var description: String { redacted }

    /// The URL with any password replaced by `***`.
    public static func redact(_ text: String) -> String {
        guard let at = text.range(of: "@", options: .backwards), let scheme = text.range(of: "://"), scheme.upperBound < at.lowerBound,
              let colon = text[scheme.upperBound..<at.lowerBound].firstIndex(of: ":") else { return text }
        return text[..<text.index(after: colon)] + "***" + text[at.lowerBound...]
    }

    /// A message with the password (raw or percent-encoded) taken out.
    func scrub(_ message: String) -> String {
        guard let password, !password.isEmpty else { return message }
        var result = message.replacingOccurrences(of: password, with: "***")
        if let encoded = password.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) {
            result = result.replacingOccurrences(of: encoded, with: "***")
        }
        return result
    }

    var configuration: PostgresConnection.Configuration {
        .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }
}

public struct FleetAnalysisError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `miners status --since/--by` and `miners report` over the fleet's PostgreSQL: the same
/// `RequestAnalysis.Figures` as over SQLite, computed in PostgreSQL. A window is read as whole
/// days from the daily rollups (`fleet_rollups`, `fleet_ttfb`, migrations/postgres/0002), the
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
    public static func run(_ url: FleetURL, _ query: RequestAnalysis.Query) async throws -> [RequestAnalysis.Figures] {
        try await withConnection(url) { try await run($0, query) }
    }

    static func run(_ connection: PostgresConnection, _ query: RequestAnalysis.Query) async throws -> [RequestAnalysis.Figures] {
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
        var groups: [String: RequestAnalysis.Totals] = [:]
        let n = keys.count
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: sums.binds), logger: logger) {
            let cells = row.makeRandomAccess()
            func text(_ index: Int) throws -> String { try cells[index].decode(String.self) }
            func int(_ index: Int) throws -> Int { try cells[index].decode(Int.self) }
            func double(_ index: Int) throws -> Double { try cells[index].decode(Double.self) }
            let key = try (0..<n).map(text).joined(separator: "\u{1F}")
            let outcome = try text(n), reason = try text(n + 1)
            var values: [String: Int] = [:]
            var reals: [String: Double] = [:]
            for (offset, column) in sumColumns.enumerated() {
                if column.hasSuffix("_sum") { reals[column] = try double(n + 2 + offset) } else { values[column] = try int(n + 2 + offset) }
            }
            var totals = groups[key] ?? RequestAnalysis.Totals()
            let requests = values["requests"]!
            guard RequestRecord.outcomes.contains(outcome), requests != 0 else { continue }
            totals.requests += requests
            totals.outcomes[outcome, default: 0] += requests
            if outcome == "rejected" { totals.rejections[reason, default: 0] += requests }
            totals.itemsSent += values["items_sent"]!
            if outcome.hasSuffix("_timeout") { totals.itemsSentBeforeTimeout += values["items_sent"]! }
            totals.itemsUnsent += values["items_unsent"]!
            totals.itemsGenerated += values["items_generated"]!
            totals.bytesSent += values["bytes_sent"]!
            totals.largestBatch = max(totals.largestBatch, values["largest_batch"]!)
            totals.batchesAboveLimit += values["batches_over_200"]!
            func add(_ mean: inout RequestAnalysis.Mean, _ sum: Double, _ count: Int) {
                mean.sum += sum
                mean.count += count
            }
            let streamedCount = values["total_n"]!
            add(&totals.total, reals["total_s_sum"]!, streamedCount)
            add(&totals.batches, Double(values["batches"]!), streamedCount)
            add(&totals.finalAnswer, Double(values["final_answers"]!), streamedCount)
            add(&totals.arrivalLag, reals["arrival_lag_s_sum"]!, values["arrival_lag_n"]!)
            add(&totals.queueWait, reals["queue_wait_s_sum"]!, values["queue_wait_n"]!)
            add(&totals.timeout, reals["timeout_s_sum"]!, values["timeout_n"]!)
            add(&totals.deliveredShare, reals["delivered_sum"]!, values["delivered_n"]!)
            add(&totals.batchGap, reals["batch_gap_s_sum"]!, values["batch_gap_n"]!)
            groups[key] = totals
        }

        // Times to first batch: the histogram rows of the periods and the raw rows' buckets.
        var ttfb = Statement()
        var histogramParts: [String] = []
        for period in plan.periods {
            histogramParts.append("""
                SELECT \((keys + ["bucket", "n"]).joined(separator: ", ")) FROM fleet_ttfb
                WHERE span = \(period.span) AND period_start >= \(ttfb.bind(period.range.from)) AND period_start < \(ttfb.bind(period.range.to))\(ttfb.filters(query))
                """)
        }
        for stretch in plan.raw {
            histogramParts.append("""
                SELECT \((keys + ["fleet_ttfb_bucket(r.first_batch_at - r.received_at) AS bucket", "1::bigint AS n"]).joined(separator: ", "))
                FROM requests r WHERE r.received_at >= \(ttfb.bind(stretch.from)) AND r.received_at < \(ttfb.bind(stretch.to))
                    AND r.outcome IN \(streamedOutcomes) AND r.first_batch_at IS NOT NULL\(ttfb.filters(query))
                """)
        }
        let histogramSQL = """
            SELECT \((keyNames + ["bucket", "sum(n)::bigint"]).joined(separator: ", "))
            FROM (\(histogramParts.joined(separator: "\nUNION ALL\n"))) u GROUP BY \((keyNames + ["bucket"]).joined(separator: ", "))
            """
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: histogramSQL, binds: ttfb.binds), logger: logger) {
            let cells = row.makeRandomAccess()
            let key = try (0..<n).map { try cells[$0].decode(String.self) }.joined(separator: "\u{1F}")
            let bucket = try cells[n].decode(Int.self), count = try cells[n + 1].decode(Int.self)
            guard count > 0, groups[key] != nil else { continue }
            groups[key]!.ttfbBuckets[bucket, default: 0] += count
        }

        // Batches over a limit other than SN1's 200: from the batch rows of the whole periods.
        if largeBatch != RequestRollups.largeBatch, let first = plan.periods.first, let last = plan.periods.last {
            var large = Statement()
            let limit = large.bind(largeBatch)
            let sql = """
                SELECT \((keys + ["count(*)::bigint"]).joined(separator: ", "))
                FROM requests r JOIN batches b ON b.host = r.host AND b.request_id = r.local_id
                WHERE r.received_at >= \(large.bind(first.range.from)) AND r.received_at < \(large.bind(last.range.to))
                    AND r.largest_batch > \(limit) AND b.items > \(limit) AND r.outcome IN \(streamedOutcomes)\(large.filters(query))
                GROUP BY \(keyNames.isEmpty ? "()" : keyNames.joined(separator: ", "))
                """
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: large.binds), logger: logger) {
                let cells = row.makeRandomAccess()
                let key = try (0..<n).map { try cells[$0].decode(String.self) }.joined(separator: "\u{1F}")
                if groups[key] != nil { groups[key]!.batchesAboveLimit += try cells[n].decode(Int.self) }
            }
        }

        let minutes = max((query.to - query.from) / 60, 1e-9)
        let names = query.groupBy.map(\.rawValue)
        return groups.sorted { $0.key < $1.key }.map { key, totals in
            let parts = key.isEmpty && n == 0 ? [] : key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            return RequestAnalysis.figures(totals, group: Dictionary(uniqueKeysWithValues: zip(names, parts)), minutes: minutes)
        }
    }

    /// What `miners report` draws, over the fleet: the window's requests summed in PostgreSQL per
    /// miner, outcome, hour, time-to-first-batch bucket and delivered share (to 1%), the slowest
    /// requests with their batches, and the per-validator table.
    public static func report(_ url: FleetURL, from: Double, to: Double, slowest count: Int = 10) async throws -> ReportQueries.Data {
        try await withConnection(url) { connection in
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
            return ReportQueries.Data(
                from: from, to: to, requests: requests.sorted { $0.receivedAt < $1.receivedAt }, slowest: timelines,
                validators: try await run(connection, query)
            )
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "miners.fleet-analysis")
        logger.logLevel = .error
        return logger
    }()

    /// Runs `body` on a new connection, closed after; every error names the redacted URL only.
    static func withConnection<T: Sendable>(_ url: FleetURL, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: url.configuration, id: 1, logger: logger)
        } catch {
            throw FleetAnalysisError("cannot connect to \(url.redacted): \(url.scrub(String(reflecting: error)))")
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            if error is FleetAnalysisError { throw error }
            throw FleetAnalysisError("the fleet analysis failed at \(url.redacted): \(url.scrub(String(reflecting: error)))")
        }
    }
}
