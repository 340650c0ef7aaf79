import Foundation
import GRDB
import Testing
@testable import LogStore

/// Retention: hourly rollups made before raw rows go, deletion in small steps, and analysis
/// that reads raw rows where they exist and rollups beyond.
@Suite struct RetentionTests {
    static let day = 86_400.0
    /// 2026-10-01 00:00 UTC: thirty days of synthetic requests start here.
    static let start = 1_790_812_800.0

    func emptyDatabase() throws -> (DatabaseQueue, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        return (database, path)
    }

    /// A deterministic mix: two miners, three validators, every outcome, refusals standing for
    /// several requests, batches over 200 items, waits, lags and budgets.
    static func syntheticRequests(days: Int, perHour: Int = 12, from start: Double = start) -> [RequestRecord] {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let outcomes = ["complete", "complete", "complete", "partial_timeout", "empty_timeout", "stream_error", "client_disconnect", "rejected"]
        var records: [RequestRecord] = []
        for hour in 0..<(days * 24) {
            for index in 0..<perHour {
                let at = start + Double(hour) * 3600 + Double(index) * (3600 / Double(perHour)) + Double(next(100)) / 10
                let worker = ["a", "b"][next(2)]
                let outcome = outcomes[next(outcomes.count)]
                var record = RequestRecord(
                    worker: worker, minerHotkey: "5\(worker)", synapse: "StreamingSynapse", backend: worker == "a" ? "mock" : "openai",
                    batchSize: worker == "a" ? 4 : 12, receivedAt: at, finishedAt: at + 0.5 + Double(next(900)) / 100,
                    outcome: outcome, status: outcome == "rejected" ? [401, 429][next(2)] : 200
                )
                if outcome == "rejected" {
                    record.reason = ["stale_nonce", "rate_limited"][next(2)]
                    record.count = 1 + next(5)
                } else {
                    record.validatorHotkey = ["v1", "v2", "v3"][next(3)]
                    record.nonce = Int64((at - Double(next(50)) / 100) * 1e9)
                    record.timeout = [12, 30, 60][next(3)]
                    record.queueWait = next(3) == 0 ? nil : Double(next(200)) / 1000
                    if outcome != "empty_timeout" && outcome != "stream_error" {
                        let ttfb = 0.05 + Double(next(3000)) / 1000
                        record.firstBatchAt = at + ttfb
                        let sizes = (0..<(1 + next(6))).map { _ in next(10) == 0 ? 201 + next(100) : 1 + next(12) }
                        record.batches = sizes.enumerated().map {
                            BatchRecord(sequence: $0, offset: ttfb + Double($0) * 0.3, items: $1, bytes: $1 * 4, isFinal: false)
                        }
                        record.itemsSent = sizes.reduce(0, +)
                        record.bytesSent = record.itemsSent * 4
                    }
                    record.itemsGenerated = record.itemsSent + next(20)
                    record.finalAnswerSent = outcome == "complete" && next(4) != 0
                }
                records.append(record)
            }
        }
        return records
    }

    func insert(_ records: [RequestRecord], into database: DatabaseQueue) throws {
        try database.write { db in for record in records { try LogWriter.insert(record, into: db) } }
    }

    func pass(_ database: DatabaseQueue, batches: Double? = 2 * day, requests: Double? = 7 * day, rollups: Double? = nil, chunk: Int = 500) -> RetentionPass {
        var pass = RetentionPass(database: database, batches: batches, requests: requests, rollups: rollups, pause: {})
        pass.chunk = chunk
        return pass
    }

    func count(_ database: DatabaseQueue, _ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try database.read { try Int.fetchOne($0, sql: sql, arguments: arguments) ?? 0 }
    }

    /// Every figure a rollup can carry equals the raw one; percentiles agree within the
    /// histogram's 1%.
    func expectSame(_ raw: [RequestAnalysis.Figures], _ rolled: [RequestAnalysis.Figures]) {
        #expect(raw.map(\.group) == rolled.map(\.group))
        for (a, b) in zip(raw, rolled) {
            #expect(a.requests == b.requests && a.outcomes == b.outcomes && a.rejections == b.rejections, "\(a.group)")
            #expect(a.itemsSentBeforeTimeout == b.itemsSentBeforeTimeout && a.itemsUnsent == b.itemsUnsent, "\(a.group)")
            #expect(a.largestBatch == b.largestBatch && a.batchesAboveLimit == b.batchesAboveLimit, "\(a.group)")
            #expect(a.requestsPerMinute == b.requestsPerMinute && a.rejectionRate == b.rejectionRate, "\(a.group)")
            let means: [(Double?, Double?)] = [
                (a.meanTotal, b.meanTotal), (a.meanArrivalLag, b.meanArrivalLag), (a.meanQueueWait, b.meanQueueWait),
                (a.meanDeliveredShare, b.meanDeliveredShare), (a.finalAnswerRate, b.finalAnswerRate),
                (a.meanBatchesPerRequest, b.meanBatchesPerRequest), (a.meanBatchGap, b.meanBatchGap), (a.meanTimeout, b.meanTimeout),
            ]
            for (x, y) in means {
                #expect((x == nil) == (y == nil), "\(a.group)")
                if let x, let y { #expect(abs(x - y) <= 1e-9 * max(1, abs(x)), "\(a.group): \(x) vs \(y)") }
            }
            for (x, y) in [(a.ttfbP50, b.ttfbP50), (a.ttfbP95, b.ttfbP95), (a.ttfbP99, b.ttfbP99)] {
                #expect((x == nil) == (y == nil), "\(a.group)")
                if let x, let y { #expect(abs(x - y) <= 0.0101 * x, "\(a.group): \(x) vs \(y)") }
            }
        }
    }

    @Test func rollupsEqualTheRawFiguresTheyReplace() async throws {
        let (database, _) = try emptyDatabase()
        let records = Self.syntheticRequests(days: 30)
        try insert(records, into: database)
        let now = Self.start + 31 * Self.day + 3 * 3600
        let whole = RequestAnalysis.Query(from: Self.start, to: now)
        var groupings: [[RequestAnalysis.Dimension]] = [[.miner], [.miner, .validator], [.backend, .batchSize], [.hotkey], []]
        var filtered = whole
        filtered.filters = [.validator: ["v2"], .miner: ["b"]]
        func analyses() throws -> [[RequestAnalysis.Figures]] {
            var result = try groupings.map { groupBy in
                var query = whole
                query.groupBy = groupBy
                return try RequestAnalysis.run([database], query)
            }
            result.append(try RequestAnalysis.run([database], filtered))
            return result
        }
        let before = try analyses()
        #expect(before[0].map(\.requests).reduce(0, +) == records.map(\.count).reduce(0, +))
        #expect(before[0].allSatisfy { $0.batchesAboveLimit > 0 })  // the limit is exercised

        let progress = try await pass(database).run(now: now)
        #expect(progress.hoursRolledUp == 30 * 24)  // every hour that holds a request
        let batchCutoff = RequestRollups.hourStart(now - 2 * Self.day)
        let requestCutoff = RequestRollups.hourStart(now - 7 * Self.day)
        #expect(try count(database, "SELECT count(*) FROM requests WHERE received_at < ?", [requestCutoff]) == 0)
        #expect(try count(database, "SELECT count(*) FROM batches JOIN requests ON id = request_id WHERE received_at < ?", [batchCutoff]) == 0)
        #expect(try count(database, "SELECT count(*) FROM batches") > 0)
        #expect(progress.requestsDeleted == records.filter { $0.receivedAt < requestCutoff }.count)

        let after = try analyses()
        for (raw, rolled) in zip(before, after) { expectSame(raw, rolled) }
        let coverage = try RequestAnalysis.coverage([database], whole)
        #expect(coverage == .init(rollupsFrom: Self.start, rollupsTo: requestCutoff, rawFrom: requestCutoff))
        // Another large-batch limit cannot be read from rollups: said so.
        var otherLimit = whole
        otherLimit.largeBatch = 250
        let said = try RequestAnalysis.coverage([database], otherLimit)
        #expect(said.largeBatchesFrom == batchCutoff && said.note?.contains("batches over 250 items counted only from") == true)
        #expect(try RequestAnalysis.coverage([database], whole).largeBatchesFrom == nil)
        groupings = [[.miner]]
        // A window within the raw rows reads no rollup.
        let recent = RequestAnalysis.Query(from: requestCutoff + 3600, to: now)
        #expect(try RequestAnalysis.coverage([database], recent).rollupsFrom == nil)
    }

    @Test func theReportCountsTheSameRequestsPerMinerAndOutcome() async throws {
        let (database, _) = try emptyDatabase()
        try insert(Self.syntheticRequests(days: 12), into: database)
        let now = Self.start + 12 * Self.day
        func tally() throws -> [String: Int] {
            let data = try ReportQueries.load([database], from: Self.start, to: now)
            return data.requests.reduce(into: [:]) { $0["\($1.worker) \($1.outcome)", default: 0] += $1.count }
        }
        let before = try tally()
        _ = try await pass(database).run(now: now)
        #expect(try tally() == before)
        let data = try ReportQueries.load([database], from: Self.start, to: now)
        #expect(data.coverage.note?.hasPrefix("from hourly rollups") == true)
        // Timelines only where batch rows are kept.
        let kept = try RetentionState.read(database).batchesUntil
        let slowest = try await database.read { db in
            try Double.fetchAll(db, sql: """
                SELECT finished_at - received_at AS total FROM requests WHERE received_at >= ? AND outcome != 'rejected'
                ORDER BY total DESC LIMIT 10
                """, arguments: [kept])
        }
        #expect(kept > Self.start && data.slowest.map(\.total) == slowest)
    }

    @Test func anHoursRollupHoldsItsExactPercentiles() async throws {
        let (database, _) = try emptyDatabase()
        let records = Self.syntheticRequests(days: 1, perHour: 40)
        try insert(records, into: database)
        _ = try await pass(database, batches: nil, requests: nil).run(now: Self.start + 2 * Self.day)
        let hour = Self.start + 5 * 3600
        let exact = records.filter { $0.receivedAt >= hour && $0.receivedAt < hour + 3600 && $0.worker == "a" && $0.outcome == "complete" }
            .compactMap { record in record.firstBatchAt.map { $0 - record.receivedAt } }.sorted()
        let stored = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT ttfb_n, ttfb_p50, ttfb_p95 FROM request_rollups WHERE hour = ? AND worker = 'a' AND outcome = 'complete'", arguments: [hour])
        }
        #expect(stored.map { $0["ttfb_n"] as Int }.reduce(0, +) == exact.count)
        // Per validator; the hour's single rows each hold the exact nearest-rank values.
        for row in stored where (row["ttfb_n"] as Int) > 0 {
            let p50: Double = row["ttfb_p50"]
            #expect(exact.contains { abs($0 - p50) < 1e-9 })
        }
        // Nothing was deleted: no horizon.
        #expect(try count(database, "SELECT count(*) FROM requests") == records.count)
    }

    @Test func aRoundResumesAndASecondRoundFindsNothingToDo() async throws {
        let (database, _) = try emptyDatabase()
        try insert(Self.syntheticRequests(days: 10), into: database)
        let now = Self.start + 10 * Self.day
        // Small steps, cancelled part way: each step moved the state, so the next round goes on.
        let partial = Task { try await pass(database, chunk: 20).run(now: now) }
        try await Task.sleep(for: .milliseconds(30))
        partial.cancel()
        _ = try? await partial.value
        let first = try await pass(database, chunk: 20).run(now: now)
        let second = try await pass(database, chunk: 20).run(now: now)
        #expect(second.hoursRolledUp == 0 && second.requestsDeleted == 0 && second.batchesDeleted == 0)
        #expect(first.requestsDeleted + first.batchesDeleted + first.hoursRolledUp > 0)
        let state = try RetentionState.read(database)
        #expect(state.requestsUntil == RequestRollups.hourStart(now - 7 * Self.day))
        #expect(state.rolledUntil == RequestRollups.hourStart(now - RetentionPass.settle))
        #expect(try count(database, "SELECT count(*) FROM requests WHERE received_at < ?", [state.requestsUntil]) == 0)
    }

    @Test func aRowWrittenLateIntoARolledHourIsRolledUpAgain() async throws {
        let (database, _) = try emptyDatabase()
        try insert(Self.syntheticRequests(days: 3), into: database)
        let now = Self.start + 3 * Self.day
        _ = try await pass(database, batches: nil, requests: nil).run(now: now)
        let hour = Self.start + 3600
        func rolled() throws -> Int { try count(database, "SELECT coalesce(sum(requests), 0) FROM request_rollups WHERE hour = ?", [hour]) }
        let before = try rolled()
        // A worker's journal replayed after a long stop writes a request of an old hour.
        var late = RequestRecord(worker: "a", minerHotkey: "5a", synapse: "S", backend: "mock", batchSize: 4,
                                 receivedAt: hour + 60, finishedAt: hour + 61, outcome: "complete", status: 200)
        late.validatorHotkey = "v1"
        try insert([late], into: database)
        let progress = try await pass(database, batches: nil, requests: nil).run(now: now)
        #expect(progress.hoursRolledUp == 1)
        #expect(try rolled() == before + 1)
    }

    @Test func aRowWrittenLateIntoAnHourWhoseRawRowsWentIsAddedOnce() async throws {
        let (database, _) = try emptyDatabase()
        try insert(Self.syntheticRequests(days: 10), into: database)
        let now = Self.start + 10 * Self.day
        _ = try await pass(database).run(now: now)
        let hour = Self.start + 26 * 3600  // day 2: raw rows and batch rows gone
        #expect(try count(database, "SELECT count(*) FROM requests WHERE received_at < ?", [hour + 3600]) == 0)
        let whole = RequestAnalysis.Query(from: Self.start, to: now)
        let before = try RequestAnalysis.run([database], whole).map(\.requests).reduce(0, +)
        var late = RequestRecord(worker: "a", minerHotkey: "5a", synapse: "S", backend: "mock", batchSize: 4,
                                 receivedAt: hour + 60, finishedAt: hour + 62, outcome: "complete", status: 200)
        late.validatorHotkey = "v1"
        late.firstBatchAt = hour + 61
        late.batches = [BatchRecord(sequence: 0, offset: 1, items: 250, bytes: 1000, isFinal: false)]
        late.itemsSent = 250
        late.itemsGenerated = 250
        try insert([late], into: database)
        for _ in 0..<2 { _ = try await pass(database).run(now: now) }  // the second adds nothing
        let after = try RequestAnalysis.run([database], whole).map(\.requests).reduce(0, +)
        #expect(after == before + 1)
        #expect(try count(database, "SELECT sum(batches_over_200) FROM request_rollups WHERE hour = ? AND worker = 'a'", [hour]) >= 1)
        // The raw row stays until the rows written before it go (deletion walks by id), but no
        // reader counts it twice: before `requests_until` only rollups are read.
        #expect(try count(database, "SELECT count(*) FROM requests WHERE received_at < ?", [hour + 3600]) == 1)
    }

    @Test func refusalsAreRolledUpPerReasonNotPerHotkey() async throws {
        let (database, _) = try emptyDatabase()
        var records: [RequestRecord] = []
        for index in 0..<50 {  // a stranger's fifty fresh hotkeys, each signing one request
            var record = RequestRecord(worker: "a", minerHotkey: "5a", synapse: "S", backend: "mock", batchSize: 4,
                                       receivedAt: Self.start + Double(index), finishedAt: Self.start + Double(index), outcome: "rejected", status: 403)
            record.validatorHotkey = "stranger\(index)"
            record.reason = "not_registered"
            records.append(record)
        }
        try insert(records, into: database)
        _ = try await pass(database).run(now: Self.start + Self.day)
        #expect(try count(database, "SELECT count(*) FROM request_rollups") == 1)
        #expect(try count(database, "SELECT requests FROM request_rollups WHERE reason = 'not_registered' AND validator_hotkey = ''") == 50)
    }

    @Test func theSupervisorsEventsGoButTheNewestOfEachSubjectStays() async throws {
        let (database, _) = try emptyDatabase()
        try await database.write { db in
            for (index, miner) in ["a", "a", "b"].enumerated() {
                try LogWriter.insert(LifecycleRecord(at: Self.start + Double(index), miner: miner, event: .start), into: db)
            }
            for index in 0..<3 {
                try db.execute(sql: """
                    INSERT INTO standing (at, miner, hotkey, network, netuid, block, tempo, registered) VALUES (?, 'a', '5a', 'finney', 35, ?, 360, ?)
                    """, arguments: [Self.start + Double(index), index, index != 2])
            }
            try LogWriter.insert(LifecycleRecord(at: Self.start + 20 * Self.day, miner: "a", event: .running), into: db)
            for (index, state) in ["firing", "resolved", "firing"].enumerated() {
                try db.execute(sql: """
                    INSERT INTO alerts (at, kind, subject, noun, state, since, detail) VALUES (?, 'disk_full', '/var', 'directory', ?, 0, '')
                    """, arguments: [Self.start + Double(index), state])
            }
        }
        _ = try await pass(database).run(now: Self.start + 21 * Self.day)
        let lifecycle = try database.read { try Row.fetchAll($0, sql: "SELECT miner, event FROM lifecycle ORDER BY id") }
        #expect(lifecycle.map { "\($0["miner"] as String):\($0["event"] as String)" } == ["b:start", "a:running"])
        #expect(try count(database, "SELECT count(*) FROM standing") == 2)  // the two the deregistration rule reads
        #expect(try count(database, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 1)  // still firing
    }

    @Test func incrementalVacuumShrinksTheFileAndRollupsExpire() async throws {
        let (database, path) = try emptyDatabase()
        #expect(try LogDatabase.hasIncrementalVacuum(database))
        try insert(Self.syntheticRequests(days: 20, perHour: 30), into: database)
        try await database.writeWithoutTransaction { _ = try $0.checkpoint(.truncate) }
        func pages() throws -> Int { try count(database, "PRAGMA page_count") }
        let full = try pages()
        let now = Self.start + 20 * Self.day
        let progress = try await pass(database, batches: Self.day, requests: Self.day, rollups: 10 * Self.day).run(now: now)
        #expect(progress.pagesFreed > 0)
        #expect(try pages() < full / 2)
        #expect(try count(database, "SELECT count(*) FROM request_rollups WHERE hour < ?", [RequestRollups.hourStart(now - 10 * Self.day)]) == 0)
        #expect(try count(database, "SELECT count(*) FROM request_rollups") > 0)
        _ = path
    }

    @Test func aHistogramMergesAndStaysWithinOnePercent() {
        var histogram = TTFBHistogram()
        let values = (1...1000).map { Double($0) / 250 }  // 4 ms … 4 s
        for value in values { histogram.add(value) }
        let copy = TTFBHistogram(text: histogram.text)
        #expect(copy == histogram)
        for p in [0.5, 0.95, 0.99] {
            let exact = values.nearestRank(p)!
            #expect(abs(copy.percentile(p)! - exact) <= 0.0101 * exact)
        }
        // A hand-edited row: malformed entries are skipped, never trapped on.
        #expect(TTFBHistogram(text: "x:1,5:-3,999999999999:1,3:99999999999999999999,10:2").total == 2)
        #expect(TTFBHistogram.bucket(0) == TTFBHistogram.bucket(-5))
    }
}
