import Foundation
import GRDB
import Logging
import Testing
@testable import LogStore

@Suite struct RequestJournalTests {
    func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
    }

    func record(_ uuid: String, outcome: String = "complete") -> RequestRecord {
        var record = RequestRecord(
            worker: "alpha", minerHotkey: "5Grw", synapse: "StreameinsteinSynapse", backend: "mock", batchSize: 4,
            receivedAt: 1_764_000_000.123456, finishedAt: 1_764_000_001.5, outcome: outcome, status: 200
        )
        record.uuid = uuid
        record.validatorHotkey = "5Hh2"
        record.nonce = 1_795_552_238_487_687_740
        record.timeout = 12
        record.firstBatchAt = 1_764_000_000.2
        record.itemsSent = 8
        record.itemsGenerated = 8
        record.bytesSent = 41
        record.batches = [
            BatchRecord(sequence: 0, offset: 0.1, items: 4, bytes: 20, isFinal: false),
            BatchRecord(sequence: 1, offset: 0.30000000000000004, items: 4, bytes: 21, isFinal: true),
        ]
        return record
    }

    @Test func aLineGivesTheRecordBackExactly() {
        var full = record("u-1", outcome: "partial_timeout")
        full.detail = "tab\there, newline\nthere, back\\slash and \\N"
        full.reason = "x"
        full.queueWait = 0.25
        full.promptTokens = 12
        full.timeoutEvent = TimeoutRecord(at: 1_764_000_001.5, limit: 1.5, elapsed: 1.4999999, batchesSent: 2, itemsDropped: 3)
        let line = RequestLine.encode(full)
        #expect(!line.contains("\n"))
        #expect(RequestLine.decode(Substring(line)) == full)
        var sparse = RequestRecord(worker: "w", minerHotkey: "h", synapse: "", backend: "mock", batchSize: 1, receivedAt: 1, finishedAt: 2, outcome: "rejected", status: 401)
        sparse.validatorHotkey = nil
        #expect(RequestLine.decode(Substring(RequestLine.encode(sparse))) == sparse)
        // An aggregated refusal keeps its count and the hotkey it only claimed.
        var aggregated = sparse
        aggregated.claimedHotkey = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
        aggregated.count = 300
        #expect(RequestLine.decode(Substring(RequestLine.encode(aggregated))) == aggregated)
        // A line an older worker journaled (29 fields) still reads.
        let older = RequestLine.encode(sparse).split(separator: "\t", omittingEmptySubsequences: false).dropLast(2).joined(separator: "\t")
        #expect(RequestLine.decode(Substring(older)) == sparse)
        // A line cut short is not a record.
        #expect(RequestLine.decode(Substring(line.dropLast(30))) == nil)
    }

    @Test func aKilledWorkersJournalIsReplayedOnce() throws {
        let base = directory()
        let database = try LogDatabase.open(path: "\(base)/log.sqlite")
        try Migrations.migrate(database)
        let path = RequestJournal.path(database: "\(base)/log.sqlite", miner: "alpha")
        do {
            // A worker that records and commits one request, then records two more, starts a
            // fourth, and is killed (nothing flushed, nothing closed cleanly).
            let writer = LogWriter(database: database, logger: Logger(label: "test"), journal: try RequestJournal(path: path))
            let first = writer.started(record("a"))
            writer.record(record("a"), journalID: first)
            #expect(writer.flush() == 1)
            let second = writer.started(record("b"))
            writer.record(record("b", outcome: "complete"), journalID: second)
            // The client left as the end was sent: the correction wins.
            writer.correct(record("b", outcome: "client_disconnect"), journalID: second)
            writer.record(record("c"))
            _ = writer.started(record("d"))
        }
        // The journal was written through a half-written last line when the kill came.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("F\t999-1\talpha\t5Grw".utf8))
        try handle.close()

        let counts = try LogWriter.recover(journalPath: path, into: database)
        #expect(counts.finished == 2 && counts.interrupted == 1)
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT uuid, outcome, reason, batches FROM requests ORDER BY uuid")
        }
        #expect(rows.map { $0["uuid"] as String } == ["a", "b", "c", "d"])
        #expect(rows.map { $0["outcome"] as String } == ["complete", "client_disconnect", "complete", "stream_error"])
        #expect(rows[3]["reason"] as String? == "interrupted")
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM batches") } == 8)
        // The files are gone: a second recovery finds nothing.
        #expect(try LogWriter.recover(journalPath: path, into: database) == (0, 0))
    }

    @Test func aCleanWriterLeavesNothingToRecover() throws {
        let base = directory()
        let database = try LogDatabase.open(path: "\(base)/log.sqlite")
        try Migrations.migrate(database)
        let path = RequestJournal.path(database: "\(base)/log.sqlite", miner: "alpha")
        let writer = LogWriter(database: database, logger: Logger(label: "test"), journal: try RequestJournal(path: path))
        for index in 0..<5 {
            let id = writer.started(record("r\(index)"))
            writer.record(record("r\(index)"), journalID: id)
            if index == 2 { writer.flush() }
        }
        let open = writer.started(record("still-open"))
        writer.flush()
        // Only the open request's start is left, in the current file.
        let found = RequestJournal.recover(path: path)
        #expect(found.finished.isEmpty && found.interrupted.map(\.uuid) == ["still-open"])
        writer.record(record("still-open"), journalID: open)
        writer.flush()
        #expect(RequestJournal.recover(path: path).interrupted.isEmpty)
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM requests") } == 6)
    }

    @Test func aFullDiskKeepsRowsInMemoryThenCountsWhatItDropped() throws {
        let base = directory()
        let database = try LogDatabase.open(path: "\(base)/log.sqlite")
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"), maxPending: 10, source: "alpha")
        // SQLite reports SQLITE_FULL once the file may not grow: a full disk, for the writer.
        let pages = try database.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") } ?? 0
        try database.writeWithoutTransaction { db in _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)") }
        func big(_ uuid: String) -> RequestRecord {
            var record = record(uuid)
            record.detail = String(repeating: "x", count: 5000)
            return record
        }
        // Whatever still fits in the file's free pages is written; then the disk is "full".
        var fitted = 0
        while writer.pendingCount == 0 && fitted < 1000 {
            writer.record(big("fits-\(fitted)"))
            writer.flush()
            fitted += 1
        }
        #expect(writer.pendingCount == 1)
        for index in 0..<24 {
            writer.record(big("full-\(index)"))
            writer.flush()
        }
        #expect(writer.pendingCount == 10 && writer.lostCount == 15)
        try database.writeWithoutTransaction { db in _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = 1000000") }
        #expect(writer.flush() == 11)  // the ten kept, and the loss report
        #expect(writer.lostCount == 0)
        let losses = try database.read { db in try Row.fetchAll(db, sql: "SELECT worker, lost, since, error FROM log_losses") }
        #expect(losses.count == 1 && losses[0]["lost"] as Int == 15 && losses[0]["worker"] as String == "alpha")
        #expect((losses[0]["error"] as String).contains("full"))
        let kept = try database.read { db in try String.fetchAll(db, sql: "SELECT uuid FROM requests WHERE uuid LIKE 'full-%' ORDER BY id") }
        #expect(kept == (14..<24).map { "full-\($0)" })
    }

    @Test func aReadOnlyDatabaseKeepsRowsQueued() throws {
        let base = directory()
        let path = "\(base)/log.sqlite"
        try Migrations.migrate(try LogDatabase.open(path: path))
        var configuration = Configuration()
        configuration.readonly = true
        let readOnly = try DatabaseQueue(path: path, configuration: configuration)
        let writer = LogWriter(database: readOnly, logger: Logger(label: "test"), maxPending: 100)
        for index in 0..<3 { writer.record(record("ro-\(index)")) }
        #expect(writer.flush() == 0)
        #expect(writer.pendingCount == 3 && writer.lostCount == 0)
    }
}
