import Foundation
import GRDB
import Logging
import TestSupport
import Testing
@testable import LogStore

@Suite struct LogStoreTests {
    static let repository = Fixtures.repository

    func temporaryDatabase() throws -> (DatabaseQueue, String) {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("logstore-\(UUID().uuidString)/log.sqlite").path
        return (try LogDatabase.open(path: path), path)
    }

    @Test func theBinaryCarriesEveryMigrationFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("migrations").path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Migrations.files == files)
        for migration in embeddedMigrations {
            let text = try String(contentsOf: Self.repository.appendingPathComponent("migrations/\(migration.file)"), encoding: .utf8)
            #expect(migration.sql == text)
        }
    }

    @Test func migratesOnceInWALMode() throws {
        let (database, _) = try temporaryDatabase()
        #expect(try Migrations.migrate(database) == Migrations.files)
        #expect(try Migrations.migrate(database) == [])
        #expect(try Migrations.applied(database) == Migrations.files)
        let mode = try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let tables = try database.read { db in
            try ["requests", "batches", "timeouts"].filter { try db.tableExists($0) }
        }
        #expect(tables.count == 3)
    }

    @Test func refusesADatabaseFromANewerBinary() throws {
        let (database, _) = try temporaryDatabase()
        try Migrations.migrate(database)
        try database.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future.sql')")
        }
        #expect(throws: Migrations.Newer.self) { try Migrations.migrate(database) }
        do {
            try Migrations.migrate(database)
        } catch let error as Migrations.Newer {
            #expect(error.description.contains("9999_future.sql"))
            #expect(error.description.contains("upgrade miners"))
        }
    }

    func sampleRecord() -> RequestRecord {
        var record = RequestRecord(
            worker: "alpha", minerHotkey: "5Grw", synapse: "StreameinsteinSynapse", backend: "mock", batchSize: 4,
            receivedAt: 1000, finishedAt: 1001.5, outcome: "partial_timeout", status: 200
        )
        record.validatorHotkey = "5Hh2"
        record.nonce = 1_795_552_238_487_687_740
        record.timeout = 1.5
        record.firstBatchAt = 1000.2
        record.itemsGenerated = 11
        record.itemsSent = 8
        record.bytesSent = 40
        record.finalAnswerSent = false
        record.batches = [
            BatchRecord(sequence: 0, offset: 0.2, items: 4, bytes: 20, isFinal: false),
            BatchRecord(sequence: 1, offset: 0.9, items: 4, bytes: 20, isFinal: false),
        ]
        record.timeoutEvent = TimeoutRecord(at: 1001.5, limit: 1.5, elapsed: 1.5, batchesSent: 2, itemsDropped: 3)
        return record
    }

    @Test func theWriterStoresRequestsBatchesAndTimeouts() throws {
        let (database, _) = try temporaryDatabase()
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        writer.record(sampleRecord())
        writer.record(sampleRecord())
        #expect(writer.flush() == 2)
        #expect(writer.flush() == 0)
        try database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM requests ORDER BY id LIMIT 1")!
            #expect(row["outcome"] as String == "partial_timeout")
            #expect(row["nonce"] as Int64 == 1_795_552_238_487_687_740)
            #expect(row["batches"] as Int == 2)
            #expect(row["items_unsent"] as Int == 3)
            #expect(row["final_answer_sent"] as Bool == false)
            let batches = try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE request_id = ? ORDER BY seq", arguments: [row["id"]])
            #expect(batches.map { $0["offset_s"] as Double } == [0.2, 0.9])
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM batches") == 4)
            let timeout = try Row.fetchOne(db, sql: "SELECT * FROM timeouts WHERE request_id = ?", arguments: [row["id"]])!
            #expect(timeout["items_dropped"] as Int == 3)
        }
    }

    @Test func aFailedWriteKeepsTheRecordsForTheNextFlush() throws {
        let (database, _) = try temporaryDatabase()
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        writer.record(sampleRecord())
        #expect(writer.flush() == 0)  // no schema yet: the insert fails
        try Migrations.migrate(database)
        #expect(writer.flush() == 1)
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM requests") } == 1)
    }

    /// The run loop parks while nothing is queued, writes what arrives within an interval of
    /// its arrival, and ends at once when cancelled while parked (writing what is left).
    @Test func theRunLoopWritesWhatArrivesAndStopsWhileIdle() async throws {
        let (database, _) = try temporaryDatabase()
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, interval: .milliseconds(50), logger: Logger(label: "test"))
        let loop = Task { try await writer.run() }
        func count() throws -> Int { try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM requests") ?? 0 } }
        try await Task.sleep(for: .milliseconds(150))  // idle: parked
        writer.record(sampleRecord())
        var written = 0
        for _ in 0..<100 where written == 0 {
            try await Task.sleep(for: .milliseconds(10))
            written = try count()
        }
        #expect(written == 1)
        #expect(writer.pendingCount == 0)
        try await Task.sleep(for: .milliseconds(150))  // parked again
        let started = ContinuousClock.now
        loop.cancel()
        _ = try? await loop.value
        #expect(ContinuousClock.now - started < .seconds(10), "the parked loop did not end when cancelled")
        // A record queued after the loop ended is left to the next flush, as before.
        writer.record(sampleRecord())
        #expect(writer.flush() == 1)
        #expect(try count() == 2)
    }

    @Test func theSchemaRejectsAnUnknownOutcome() throws {
        let (database, _) = try temporaryDatabase()
        try Migrations.migrate(database)
        var record = sampleRecord()
        record.outcome = "maybe"
        #expect(throws: DatabaseError.self) {
            try database.write { db in try LogWriter.insert(record, into: db) }
        }
    }
}

@Suite struct AnalysisViewTests {
    @Test func theViewsAnswerTheREADMEsQuestions() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("views-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        func record(_ validator: String, _ outcome: String, sent: Int, generated: Int, batches: [Double], final: Bool) {
            var record = RequestRecord(
                worker: "alpha", minerHotkey: "5Grw", synapse: "StreameinsteinSynapse", backend: "mock", batchSize: 4,
                receivedAt: 1000, finishedAt: 1002, outcome: outcome, status: outcome == "rejected" ? 401 : 200
            )
            record.validatorHotkey = validator
            record.timeout = outcome == "rejected" ? nil : 12
            record.nonce = 999_500_000_000
            record.itemsSent = sent
            record.itemsGenerated = generated
            record.finalAnswerSent = final
            record.firstBatchAt = batches.first.map { 1000 + $0 }
            record.batches = batches.enumerated().map { BatchRecord(sequence: $0, offset: $1, items: 4, bytes: 20, isFinal: false) }
            writer.record(record)
        }
        record("v1", "complete", sent: 8, generated: 8, batches: [0.2, 0.6], final: true)
        record("v1", "partial_timeout", sent: 4, generated: 10, batches: [0.5], final: false)
        record("v2", "rejected", sent: 0, generated: 0, batches: [], final: false)
        writer.flush()
        try database.read { db in
            let facts = try Row.fetchAll(db, sql: "SELECT ttfb_s, arrival_lag_s, delivered_share, largest_batch, mean_batch_gap_s FROM request_facts ORDER BY id")
            #expect(abs((facts[0]["ttfb_s"] as Double) - 0.2) < 1e-9)
            #expect(abs((facts[0]["arrival_lag_s"] as Double) - 0.5) < 1e-9)
            #expect(abs((facts[0]["mean_batch_gap_s"] as Double) - 0.4) < 1e-9)
            #expect(facts[0]["largest_batch"] as Int == 4)
            #expect(facts[1]["delivered_share"] as Double == 0.4)
            let partial = try Row.fetchAll(db, sql: "SELECT validator_hotkey, items_unsent FROM partial_responses")
            #expect(partial.map { $0["validator_hotkey"] as String } == ["v1"] && partial[0]["items_unsent"] as Int == 6)
            let outcomes = try Row.fetchAll(db, sql: "SELECT outcome, requests, final_answer_rate FROM request_outcomes ORDER BY outcome")
            #expect(outcomes.map { $0["outcome"] as String } == ["complete", "partial_timeout", "rejected"])
            #expect(outcomes[0]["final_answer_rate"] as Double == 1)
            let validators = try Row.fetchAll(db, sql: "SELECT * FROM per_validator ORDER BY validator_hotkey")
            #expect(validators.map { [$0["requests"] as Int, $0["rejected"], $0["timeouts"], $0["complete"]] } == [[2, 0, 1, 1], [1, 1, 0, 0]])
            #expect(validators[0]["mean_timeout_s"] as Double == 12)
        }
    }
}

@Suite struct RequestAnalysisTests {
    func database(_ records: [RequestRecord]) throws -> DatabaseQueue {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("analysis-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        records.forEach { writer.record($0) }
        writer.flush()
        return database
    }

    func request(
        _ worker: String, _ validator: String, _ outcome: String, at: Double = 1000, ttfb: Double? = nil,
        batches: [Int] = [], generated: Int = 0, final: Bool = false
    ) -> RequestRecord {
        var record = RequestRecord(
            worker: worker, minerHotkey: "5\(worker)", synapse: "S", backend: "mock", batchSize: 4, receivedAt: at,
            finishedAt: at + 2, outcome: outcome, status: outcome == "rejected" ? 401 : 200
        )
        record.validatorHotkey = validator
        record.timeout = outcome == "rejected" ? nil : 10
        record.firstBatchAt = ttfb.map { at + $0 }
        record.batches = batches.enumerated().map { BatchRecord(sequence: $0, offset: (ttfb ?? 0) + Double($0) * 0.5, items: $1, bytes: $1, isFinal: false) }
        record.itemsSent = batches.reduce(0, +)
        record.itemsGenerated = generated
        record.finalAnswerSent = final
        if outcome == "rejected" { record.reason = "stale_nonce" }
        return record
    }

    @Test func figuresFollowFromTheInputsAndDatabasesMerge() throws {
        let first = try database([
            request("a", "v1", "complete", ttfb: 0.1, batches: [4, 4, 2], generated: 10, final: true),
            request("a", "v1", "partial_timeout", ttfb: 0.3, batches: [4, 300], generated: 400),
            request("a", "v2", "rejected"),
            request("b", "v2", "empty_timeout", generated: 3),
            request("a", "v1", "complete", at: 5000, ttfb: 0.1, batches: [1], generated: 1, final: true),  // outside the window
        ])
        let second = try database([request("a", "v1", "complete", ttfb: 0.2, batches: [4], generated: 4, final: true)])
        var query = RequestAnalysis.Query(from: 900, to: 1900)  // 1000 s: 16.7 minutes
        let byMiner = try RequestAnalysis.run([first, second], query)
        #expect(byMiner.map { $0.group["miner"] } == ["a", "b"])
        let a = byMiner[0]
        #expect(a.requests == 4)
        #expect(a.outcomes == ["complete": 2, "partial_timeout": 1, "rejected": 1])
        #expect(a.rejections == ["stale_nonce": 1])
        #expect(abs(a.ttfbP50! - 0.2) < 1e-9 && abs(a.ttfbP95! - 0.3) < 1e-9)
        #expect(a.itemsSentBeforeTimeout == 304)
        #expect(a.itemsUnsent == 96)
        #expect(abs(a.meanDeliveredShare! - (1 + 0.76 + 1) / 3) < 1e-9)
        #expect(abs(a.finalAnswerRate! - 2.0 / 3) < 1e-9)
        #expect(a.largestBatch == 300 && a.batchesAboveLimit == 1)
        #expect(abs(a.meanBatchGap! - 0.5) < 1e-9)
        #expect(abs(a.requestsPerMinute - 4 / (1000.0 / 60)) < 1e-9)
        #expect(a.rejectionRate == 0.25)
        #expect(byMiner[1].outcomes == ["empty_timeout": 1] && byMiner[1].itemsUnsent == 3 && byMiner[1].ttfbP50 == nil)

        query.groupBy = [.validator]
        query.filters = [.miner: ["a"]]
        let byValidator = try RequestAnalysis.run([first], query)
        #expect(byValidator.map { $0.group["validator"]! } == ["v1", "v2"])
        #expect(byValidator.map(\.requests) == [2, 1])
        #expect(byValidator[1].rejectionRate == 1)
    }
}
