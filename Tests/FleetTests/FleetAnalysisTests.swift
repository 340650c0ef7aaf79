import Config
import Foundation
import GRDB
import LogStore
import Logging
import PostgresNIO
import Testing
@testable import Fleet

/// The fleet analysis over PostgreSQL equals the SQLite analysis over the same rows: three
/// hosts' logs written to SQLite, replicated by the Replicator (the real INSERT path, which
/// fires the rollup triggers of migrations/postgres/0002), then compared query by query.
@Suite struct FleetAnalysisTests {
    static let base = 1_767_225_600.0  // 2026-01-01T00:00:00Z, a day boundary
    static let hosts = ["alpha", "beta", "gamma"]

    /// Synthetic requests of one host over [base - 0.6 d, base + 2.7 d): every outcome, refusals
    /// counted several times, missing nonces, queue waits and validators, batches over 200 items.
    static func fill(_ database: DatabaseQueue, seed: UInt64, requests: Int) throws {
        var random = SplitMix(seed)
        let outcomes = ["complete", "complete", "complete", "partial_timeout", "empty_timeout", "stream_error", "client_disconnect", "rejected", "empty"]
        try database.write { db in
            for _ in 0..<requests {
                let worker = ["m1", "m2", "m3"][random.int(3)]
                let received = base - 0.6 * 86400 + random.unit() * 3.3 * 86400
                let outcome = outcomes[random.int(outcomes.count)]
                let refused = outcome == "rejected"
                let streamed = !refused && outcome != "empty_timeout" && outcome != "empty"
                let ttfb = streamed ? exp(log(0.3) + 0.8 * (random.unit() + random.unit() - 1)) : nil
                let batches = streamed ? 1 + random.int(6) : 0
                let largest = batches == 0 ? 0 : (random.int(5) == 0 ? 201 + random.int(100) : 10 + random.int(150))
                let validator: String? = [nil, "", "5Val1", "5Val2", "5Val3"][random.int(5)]
                try db.execute(sql: """
                    INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, nonce, timeout, received_at,
                        first_batch_at, finished_at, outcome, status, reason, batches, items_sent, bytes_sent, items_generated, items_unsent,
                        final_answer_sent, queue_wait_s, largest_batch, batch_span_s, count)
                    VALUES (?, ?, 'StreamingSynapse', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [
                        worker, "5Hot\(worker)", worker == "m3" ? "openai" : "mock", worker == "m2" ? 16 : 8, validator,
                        random.int(4) == 0 ? nil : Int64((received - random.unit() * 0.2) * 1e9), refused ? nil : 12.0 + Double(random.int(3)),
                        received, ttfb.map { received + $0 }, received + (refused ? 0.001 : 0.5 + random.unit() * 12), outcome,
                        refused ? 429 : 200, refused ? ["rate_limited", "blacklisted", nil][random.int(3)] : (outcome == "stream_error" ? "boom" : nil),
                        batches, batches * 40, batches * 300, batches * 40 + random.int(30), random.int(30), random.int(2),
                        random.int(3) == 0 ? nil : random.unit() * 0.05, largest, batches > 1 ? random.unit() * 5 : nil,
                        refused ? 1 + random.int(3) : 1,
                    ])
                let id = db.lastInsertedRowID
                for seq in 0..<batches {
                    let items = seq == 0 ? largest : random.int(largest + 1)
                    try db.execute(sql: "INSERT INTO batches (request_id, seq, offset_s, items, bytes, final) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [id, seq, Double(seq) * 0.5 + (ttfb ?? 0), items, items * 5, seq == batches - 1 ? 1 : 0])
                }
            }
        }
    }

    /// Loads the three hosts into SQLite and, through the replicator, into PostgreSQL.
    static func load(_ config: FleetConfig, _ client: PostgresClient, requests: Int = 2500) async throws -> [(host: String, database: DatabaseQueue)] {
        try await FleetDatabase.migrate(client, logger: TestPostgres.logger)
        var logs: [(host: String, database: DatabaseQueue)] = []
        for (index, host) in hosts.enumerated() {
            let database = try TestLog.database()
            try fill(database, seed: UInt64(index + 1), requests: requests)
            var fleet = config
            fleet.host = host
            let replicator = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            _ = try await replicator.drain(client)
            logs.append((host, database))
        }
        return logs
    }

    static func expectSame(_ fleet: [RequestAnalysis.Figures], _ local: [RequestAnalysis.Figures], _ label: String) {
        #expect(fleet.map(\.group) == local.map(\.group), "\(label): groups")
        for (a, b) in zip(fleet, local) {
            let where_ = "\(label) \(a.group)"
            #expect(a.requests == b.requests, "\(where_): requests \(a.requests) vs \(b.requests)")
            #expect(a.outcomes == b.outcomes, "\(where_): outcomes")
            #expect(a.rejections == b.rejections, "\(where_): rejections")
            #expect(a.itemsSentBeforeTimeout == b.itemsSentBeforeTimeout && a.itemsUnsent == b.itemsUnsent, "\(where_): items")
            #expect(a.largestBatch == b.largestBatch && a.batchesAboveLimit == b.batchesAboveLimit, "\(where_): batches \(a.batchesAboveLimit) vs \(b.batchesAboveLimit)")
            #expect(a.rejectionRate == b.rejectionRate && abs(a.requestsPerMinute - b.requestsPerMinute) <= 1e-9 * b.requestsPerMinute)
            let means: [(String, Double?, Double?)] = [
                ("total", a.meanTotal, b.meanTotal), ("lag", a.meanArrivalLag, b.meanArrivalLag), ("queue", a.meanQueueWait, b.meanQueueWait),
                ("delivered", a.meanDeliveredShare, b.meanDeliveredShare), ("final", a.finalAnswerRate, b.finalAnswerRate),
                ("batches", a.meanBatchesPerRequest, b.meanBatchesPerRequest), ("gap", a.meanBatchGap, b.meanBatchGap), ("timeout", a.meanTimeout, b.meanTimeout),
            ]
            for (name, x, y) in means {
                #expect((x == nil) == (y == nil), "\(where_): \(name) nil")
                if let x, let y { #expect(abs(x - y) <= 1e-9 * max(1, abs(y)), "\(where_): mean \(name) \(x) vs \(y)") }
            }
            for (name, x, y) in [("p50", a.ttfbP50, b.ttfbP50), ("p95", a.ttfbP95, b.ttfbP95), ("p99", a.ttfbP99, b.ttfbP99)] {
                #expect((x == nil) == (y == nil), "\(where_): \(name) nil")
                if let x, let y { #expect(abs(x - y) <= 0.01 * y + 1e-12, "\(where_): \(name) \(x) vs \(y)") }
            }
        }
    }

    /// Windows: raw edges around whole hours and days; within one hour; within one day.
    static let windows: [(Double, Double)] = [
        (base - 0.4 * 86400 + 1234.5, base + 2.5 * 86400 + 777.25),
        (base + 3600 + 100, base + 3600 + 2000),
        (base + 86400 + 7200 - 300, base + 86400 + 12 * 3600 + 5),
        (base - 86400, base + 3 * 86400),
    ]

    @Test func fleetAnalysisEqualsTheSQLiteAnalysisOfEveryHost() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logs = try await Self.load(config, client)
            let url = config.postgres
            for (from, to) in Self.windows {
                var query = RequestAnalysis.Query(from: from, to: to)
                // Per miner, over every host: the SQLite files merged.
                let fleet = try await FleetAnalysis.run(url, query)
                Self.expectSame(fleet, try RequestAnalysis.run(logs.map(\.database), query), "by miner \(from)")
                // Per host and miner: each host's file labelled with its host.
                query.groupBy = [.host, .miner]
                let byHost = try await FleetAnalysis.run(url, query)
                var local: [RequestAnalysis.Figures] = []
                var perMiner = query
                perMiner.groupBy = [.miner]
                for (host, database) in logs {
                    local += try RequestAnalysis.run([database], perMiner).map { figures in
                        var figures = figures
                        figures.group["host"] = host
                        return figures
                    }
                }
                Self.expectSame(byHost, local, "by host,miner \(from)")
                // By host sums to the whole.
                query.groupBy = []
                let whole = try await FleetAnalysis.run(url, query)
                query.groupBy = [.host]
                let hosts = try await FleetAnalysis.run(url, query)
                #expect(whole.count == 1 && hosts.count == 3)
                #expect(hosts.map(\.requests).reduce(0, +) == whole.first?.requests)
                #expect(hosts.map(\.itemsUnsent).reduce(0, +) == whole.first?.itemsUnsent)
                #expect(hosts.map(\.batchesAboveLimit).reduce(0, +) == whole.first?.batchesAboveLimit)
                for outcome in RequestRecord.outcomes {
                    #expect(hosts.map { $0.outcomes[outcome] ?? 0 }.reduce(0, +) == whole.first?.outcomes[outcome] ?? 0)
                }
                // Filtered and grouped by the other dimensions.
                query.groupBy = [.validator, .backend, .batchSize, .hotkey]
                query.filters = [.validator: ["5Val1", "5Val2"], .backend: ["mock"]]
                Self.expectSame(try await FleetAnalysis.run(url, query), try RequestAnalysis.run(logs.map(\.database), query), "filtered \(from)")
                query.filters = [.host: ["beta"]]
                query.groupBy = [.miner]
                var hostless = query
                hostless.filters = [:]
                Self.expectSame(try await FleetAnalysis.run(url, query), try RequestAnalysis.run([logs[1].database], hostless), "host beta \(from)")
                // Batches over a limit other than 200 come from batch rows.
                query.filters = [:]
                query.largeBatch = 150
                Self.expectSame(try await FleetAnalysis.run(url, query), try RequestAnalysis.run(logs.map(\.database), query), "over 150 \(from)")
            }
        }
    }

    /// Rows sent twice count once; a corrected outcome moves the request; batches arriving
    /// before their request count.
    @Test func rollupsStayRightUnderRetriesCorrectionsAndLateRequests() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logs = try await Self.load(config, client, requests: 600)
            let url = config.postgres
            // The same rows again, as a replicator retrying after a lost commit would.
            try await client.query("INSERT INTO requests SELECT * FROM requests ON CONFLICT DO NOTHING", logger: TestPostgres.logger)
            try await client.query("INSERT INTO batches SELECT * FROM batches ON CONFLICT DO NOTHING", logger: TestPostgres.logger)
            // A correction: the same in SQLite and (as an upsert) in PostgreSQL.
            try await logs[0].database.write { db in
                try db.execute(sql: "UPDATE requests SET outcome = 'partial_timeout', status = 200 WHERE id IN (SELECT id FROM requests WHERE outcome = 'complete' LIMIT 20)")
            }
            let ids = try await logs[0].database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM requests WHERE outcome = 'partial_timeout'") }
            try await client.query("UPDATE requests SET outcome = 'partial_timeout', status = 200 WHERE host = 'alpha' AND local_id = ANY(\(ids))", logger: TestPostgres.logger)
            // A late request whose batches came first (another table's batch committed earlier).
            try await client.query("""
                INSERT INTO batches (host, request_id, seq, offset_s, items, bytes, final) VALUES ('gamma', 999999, 0, 0.2, 250, 1, 0), ('gamma', 999999, 1, 0.4, 260, 1, 1)
                """, logger: TestPostgres.logger)
            try await logs[2].database.write { db in
                try db.execute(sql: """
                    INSERT INTO requests (id, worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, received_at, first_batch_at, finished_at,
                        outcome, status, batches, items_sent, items_generated, largest_batch, batch_span_s)
                    VALUES (999999, 'm1', '5Hotm1', 'StreamingSynapse', 'mock', 8, '5Val1', ?, ?, ?, 'complete', 200, 2, 510, 510, 260, 0.2)
                    """, arguments: [Self.base + 5000, Self.base + 5000.2, Self.base + 5001])
                try db.execute(sql: "INSERT INTO batches VALUES (999999, 0, 0.2, 250, 1, 0), (999999, 1, 0.4, 260, 1, 1)")
            }
            try await client.query("""
                INSERT INTO requests (host, local_id, worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, received_at, first_batch_at,
                    finished_at, outcome, status, batches, items_sent, items_generated, largest_batch, batch_span_s)
                VALUES ('gamma', 999999, 'm1', '5Hotm1', 'StreamingSynapse', 'mock', 8, '5Val1', \(Self.base + 5000), \(Self.base + 5000.2),
                    \(Self.base + 5001), 'complete', 200, 2, 510, 510, 260, 0.2) ON CONFLICT DO NOTHING
                """, logger: TestPostgres.logger)
            for (from, to) in Self.windows {
                var query = RequestAnalysis.Query(from: from, to: to)
                query.groupBy = [.miner, .validator]
                Self.expectSame(try await FleetAnalysis.run(url, query), try RequestAnalysis.run(logs.map(\.database), query), "after retries \(from)")
            }
        }
    }

    /// A fleet database and SQLite files add up group by group (`status --db postgres://… --db
    /// FILE`): the same figures as every file read alone.
    @Test func fleetTotalsAddUpWithSQLiteFiles() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logs = try await Self.load(config, client, requests: 800)
            let other = try TestLog.database()
            try Self.fill(other, seed: 99, requests: 500)
            for (from, to) in Self.windows {
                var query = RequestAnalysis.Query(from: from, to: to)
                query.groupBy = [.miner, .validator]
                let mixed = try RequestAnalysis.run([other], query, adding: try await FleetAnalysis.totals(config.postgres, query))
                Self.expectSame(mixed, try RequestAnalysis.run(logs.map(\.database) + [other], query), "mixed \(from)")
            }
        }
    }

    /// Sums written by hand (or by a hostile host) beyond Int's range saturate; nothing traps.
    @Test func absurdRollupSumsSaturate() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            try await FleetDatabase.migrate(client, logger: TestPostgres.logger)
            for outcome in ["complete", "partial_timeout"] {
                try await client.query("""
                    INSERT INTO fleet_rollups (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome,
                        reason, status, requests, items_sent, total_s_sum, total_n, largest_batch)
                    VALUES (3600, \(Self.base), 'h', 'm1', '5Hot', 'mock', 8, '', \(outcome), '', 200, 9000000000000000000,
                        9000000000000000000, 1e308, 9000000000000000000, 9223372036854775807)
                    """, logger: TestPostgres.logger)
            }
            let figures = try await FleetAnalysis.run(config.postgres, RequestAnalysis.Query(from: Self.base, to: Self.base + 3600))
            #expect(figures.count == 1 && figures.first?.requests == Int.max)
        }
    }

    /// The report's parts from PostgreSQL: requests, validators and the standing rows of every host.
    @Test func theReportCarriesStandingFromTheFleet() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logs = try await Self.load(config, client, requests: 300)
            let record = StandingRecord(
                at: Self.base + 100, miner: "m1", hotkey: "5Hotm1", network: "finney", netuid: 35, block: 123, tempo: 360,
                registered: true, uid: 7, stake: 1.5, incentive: 0.25, emission: 0.5, immunityLeft: 0
            )
            try await logs[0].database.write { try record.insert(into: $0) }
            var fleet = config
            fleet.host = Self.hosts[0]
            _ = try await Replicator(fleet: fleet, database: logs[0].database, logger: TestPostgres.logger).drain(client)
            let part = try await FleetAnalysis.report(config.postgres, from: Self.base - 86400, to: Self.base + 3 * 86400)
            #expect(part.standing.map(\.incentive) == [0.25] && part.standing.first?.uid == 7 && part.standing.first?.registered == true)
            let data = try ReportQueries.load([], from: Self.base - 86400, to: Self.base + 3 * 86400, adding: [part])
            let local = try ReportQueries.load(logs.map(\.database), from: Self.base - 86400, to: Self.base + 3 * 86400)
            #expect(data.requests.reduce(0) { $0 + $1.count } == local.requests.reduce(0) { $0 + $1.count })
            Self.expectSame(data.validators, local.validators, "report validators")
            #expect(data.slowest.map(\.total) == local.slowest.map(\.total))
        }
    }

    /// Migration 0003 turns 0002's bucket rows into arrays holding the same counts, and the
    /// triggers then keep the arrays equal to the raw rows' buckets, corrections included.
    @Test func histogramArraysHoldTheBucketCountsOfTheRawRows() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logger = TestPostgres.logger
            try await FleetDatabase.migrate(client, through: "0002_fleet_rollups.sql", logger: logger)
            // Requests as a replicator sends them: a few statements, per-bucket rows by 0002's triggers.
            func insert(_ first: Int, _ count: Int) async throws {
                try await client.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO requests (host, local_id, worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, received_at,
                        first_batch_at, finished_at, outcome, status, batches, items_sent, count)
                    SELECT 'h' || (i % 3), i, 'm' || (i % 4), '5Hot', 'StreamingSynapse', 'mock', 8, CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || (i % 2) END,
                        t, CASE WHEN i % 11 = 0 THEN NULL ELSE t + exp(ln(0.3) + 1.5 * (random() - 0.5)) END, t + 2,
                        CASE WHEN i % 13 = 0 THEN 'rejected' WHEN i % 7 = 0 THEN 'partial_timeout' ELSE 'complete' END, 200, 2, 8, 1
                    FROM (SELECT i, \(Self.base) - 86400 + i * 37.0 AS t FROM generate_series(\(first), \(first + count - 1)) i) g
                    """), logger: logger)
            }
            for chunk in 0..<4 { try await insert(chunk * 1500, 1500) }
            let cells = """
                SELECT span, period_start, host, worker, validator_hotkey, bucket, n FROM (%@) c WHERE n <> 0
                ORDER BY span, period_start, host, worker, validator_hotkey, bucket
                """
            func rows(_ sql: String) async throws -> [String] {
                var result: [String] = []
                let query = PostgresQuery(unsafeSQL: cells.replacingOccurrences(of: "%@", with: sql))
                for try await row in try await client.query(query, logger: logger).decode((Int, Double, String, String, String, Int, Int).self) {
                    result.append("\(row)")
                }
                return result
            }
            let arrays = """
                SELECT span, period_start, host, worker, validator_hotkey, first_bucket + i::integer - 1 AS bucket, c AS n
                FROM fleet_ttfb_histograms, unnest(counts) WITH ORDINALITY u(c, i)
                """
            let raw = """
                SELECT s.span, floor(received_at / s.span) * s.span AS period_start, host, worker, coalesce(validator_hotkey, '') AS validator_hotkey,
                    fleet_ttfb_bucket(first_batch_at - received_at) AS bucket, count(*) AS n
                FROM requests CROSS JOIN (VALUES (3600::bigint), (86400::bigint)) s (span)
                WHERE outcome <> 'rejected' AND first_batch_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6
                """
            let before = try await rows("SELECT span, period_start, host, worker, validator_hotkey, bucket, n FROM fleet_ttfb")
            #expect(before.count > 500)
            #expect(before == (try await rows(raw)))
            try await FleetDatabase.migrate(client, logger: logger)  // 0003: the rows become arrays
            #expect(try await rows(arrays) == before)
            // Then the triggers keep them: more rows, a resend, a correction.
            try await insert(6000, 1500)
            try await client.query("INSERT INTO requests SELECT * FROM requests WHERE local_id < 100 ON CONFLICT DO NOTHING", logger: logger)
            try await client.query("UPDATE requests SET outcome = 'rejected' WHERE local_id % 17 = 0", logger: logger)
            try await client.query("UPDATE requests SET worker = 'moved' WHERE local_id % 19 = 0", logger: logger)
            #expect(try await rows(arrays) == (try await rows(raw)))
        }
    }

    /// Hand-written histogram rows the analysis could not read or add are refused by the table;
    /// sums beyond 64 bits stay at the bound instead of stopping a host's replication.
    @Test func histogramRowsAreBoundedAndSumsSaturate() async throws {
        try await TestPostgres.withScratchDatabase { config, client in
            let logger = TestPostgres.logger
            try await FleetDatabase.migrate(client, logger: logger)
            let key = "3600, \(Self.base), 'h', 'm1', '5Hot', 'mock', 8, 'v'"
            for bad in ["-350, '{1}'", "2000, '{1,2}'", "0, '[0:2]={5,6,7}'", "0, '{1,NULL}'", "0, '{{1},{2}}'", "0, '{}'"] {
                await #expect(throws: (any Error).self, "\(bad)") {
                    try await client.query(PostgresQuery(unsafeSQL: """
                        INSERT INTO fleet_ttfb_histograms (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
                            first_bucket, counts) VALUES (\(key), \(bad))
                        """), logger: logger)
                }
            }
            // A stored count at the top of bigint, then a request in the same bucket: no overflow.
            let bucket = 288  // floor(ln(300 ms) / ln(1.02))
            try await client.query(PostgresQuery(unsafeSQL: """
                INSERT INTO fleet_ttfb_histograms (span, period_start, host, worker, miner_hotkey, backend, batch_size, validator_hotkey,
                    first_bucket, counts) VALUES (\(key), \(bucket), '{9223372036854775807}')
                """), logger: logger)
            try await client.query(PostgresQuery(unsafeSQL: """
                INSERT INTO requests (host, local_id, worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, received_at,
                    first_batch_at, finished_at, outcome, status, batches, items_sent, count)
                VALUES ('h', 1, 'm1', '5Hot', 'StreamingSynapse', 'mock', 8, 'v', \(Self.base + 10), \(Self.base + 10.3), \(Self.base + 12),
                    'complete', 200, 1, 1, 1)
                """), logger: logger)
            let counts = try await client.query(PostgresQuery(unsafeSQL: """
                SELECT first_bucket, counts FROM fleet_ttfb_histograms WHERE span = 3600 AND host = 'h'
                """), logger: logger)
            for try await (first, values) in counts.decode((Int, [Int]).self) {
                #expect(first == bucket && values == [Int.max])
            }
            let figures = try await FleetAnalysis.run(config.postgres, RequestAnalysis.Query(from: Self.base, to: Self.base + 3600))
            #expect(figures.first?.requests == 1 && figures.first?.ttfbP50 != nil)
        }
    }

    @Test func histogramsGrowAtBothEnds() {
        var histogram = FleetAnalysis.Histogram()
        histogram.add(first: 10, [1, 0, 2])
        histogram.add(first: 8, [5])
        histogram.add(first: 11, [1, 1, 1, 1])
        histogram.add(first: 2000, [Int.max])
        histogram.add(first: 2000, [7])
        #expect(histogram.buckets == [8: 5, 10: 1, 11: 1, 12: 3, 13: 1, 14: 1, 2000: Int.max])
    }

    @Test func urlsNeverShowThePassword() throws {
        let url = try PostgresURL.parse("postgresql://u:p%40ss@h:6000/d?sslmode=require")
        #expect(url.password?.value == "p@ss" && url.port == 6000 && url.database == "d" && url.sslMode == .require)
        #expect(!url.description.contains("p@ss") && !url.description.contains("p%40ss"))
        #expect(throws: PostgresURL.Problem.noHost) { try PostgresURL.parse("postgres://u:pw@/nohost") }
        #expect("\(PostgresURL.Problem.noHost)".contains("no host"))
        // Control characters decoded from escapes would reach the server and every log line.
        for text in ["postgres://u:p@h/d%0A", "postgres://u%00:p@h/d", "postgres://u:p%0D@h/d"] {
            #expect(throws: PostgresURL.Problem.badEncoding, "\(text)") { try PostgresURL.parse(text) }
        }
        #expect(try PostgresURL.parse("POSTGRES://u:p@h/d").database == "d")
        #expect(PostgresURL.isPostgres("PostgreSQL://u:p@h/d") && !PostgresURL.isPostgres("/var/lib/miners.sqlite"))
    }

    @Test func anUnreachableServerIsReportedWithoutThePassword() async throws {
        let url = try PostgresURL.parse("postgres://miners:TopSecret1@127.0.0.1:1/fleet?sslmode=disable")
        do {
            _ = try await FleetAnalysis.run(url, RequestAnalysis.Query(from: 0, to: 1))
            Issue.record("connected to port 1")
        } catch {
            #expect("\(error)".contains("cannot connect to postgres://miners:<secret>@127.0.0.1:1/fleet"))
            #expect(!"\(error)".contains("TopSecret1"))
        }
    }

    @Test func windowsSplitIntoRawEdgesHoursAndDays() {
        let plan = FleetAnalysis.Plan(from: Self.base - 3600 * 2 - 10, to: Self.base + 86400 * 2 + 3600 + 5)
        #expect(plan.raw.map(\.from) == [Self.base - 7210, Self.base + 2 * 86400 + 3600])
        #expect(plan.periods.map(\.span) == [3600, 86400, 3600])
        #expect(plan.periods[1].range == .init(from: Self.base, to: Self.base + 2 * 86400))
        #expect(FleetAnalysis.Plan(from: 10, to: 20).periods.isEmpty)
    }
}

/// A small deterministic generator.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
