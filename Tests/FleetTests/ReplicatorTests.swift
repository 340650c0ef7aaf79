import Config
import Foundation
import GRDB
import LogStore
import Logging
import PostgresNIO
import Synchronization
import Testing
@testable import Fleet

@Suite(.serialized) struct ReplicatorTests {
    @Test func migrationsCreateTheContractTables() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let applied = try await FleetDatabase.migrate(client, logger: TestPostgres.logger)
            #expect(applied.first == "0001_fleet.sql")
            // Again: nothing to do.
            #expect(try await FleetDatabase.migrate(client, logger: TestPostgres.logger).isEmpty)
            // Every replicated table has host first and local_id for SQLite's id.
            for table in ReplicationProgress.tables {
                let first = try await client.query("""
                    SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table) ORDER BY ordinal_position LIMIT 1
                    """, logger: TestPostgres.logger)
                for try await (name) in first.decode(String.self) { #expect(name == "host") }
            }
        }
    }

    @Test func replicatingTwiceStoresEachRowOnce() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            try TestLog.fill(database, requests: 2500)
            let replicator = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            let sent = try await replicator.drain(client)
            #expect(sent > 2500)
            try await TestLog.expectReplicated(database, client)
            #expect(try await replicator.drain(client) == 0)
            // Progress lost altogether (a restored backup): everything goes again, stored once.
            try await database.write { try $0.execute(sql: "UPDATE replication_progress SET last_local_id = 0") }
            #expect(try await replicator.drain(client) > 2500)
            try await TestLog.expectReplicated(database, client)
            let status = try #require(try await database.read { try ReplicationProgress.status($0) })
            #expect(status.backlog == 0)
            #expect(status.lagSeconds == 0)
            #expect(status.lastSuccessAt != nil)
        }
    }

    @Test func aCrashBetweenTheServerCommitAndTheLocalProgressDuplicatesNothing() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            try TestLog.fill(database, requests: 1500)
            let crashes = Mutex(0)
            var options = Replicator.Options()
            options.afterCommit = { _ in
                let crash = crashes.withLock { count -> Bool in
                    count += 1
                    return count <= 2
                }
                if crash { throw CancellationError() }
            }
            let crashing = Replicator(fleet: fleet, database: database, options: options, logger: TestPostgres.logger)
            await #expect(throws: CancellationError.self) { try await crashing.drain(client) }
            // The server has the first chunk, the local progress does not know.
            #expect(try await TestPostgres.count(client, "SELECT count(*) FROM requests") == 1000)
            #expect(try await database.read { try Int64.fetchOne($0, sql: "SELECT last_local_id FROM replication_progress WHERE table_name = 'requests'") } == 0)
            await #expect(throws: CancellationError.self) { try await crashing.drain(client) }
            // Restarted: the same rows go again and are stored once.
            let restarted = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            try await restarted.drain(client)
            try await TestLog.expectReplicated(database, client)
            // The server's progress counts each row once, though the first chunk went three times.
            for table in ["requests", "batches"] {
                let counted = try await TestPostgres.count(client, "SELECT rows FROM replication WHERE table_name = '\(table)'")
                #expect(counted == (try await TestPostgres.count(client, "SELECT count(*) FROM \(table)")), "\(table)")
            }
            #expect(try await TestPostgres.count(client, "SELECT rows FROM replication WHERE table_name = 'requests'") == 1500)
        }
    }

    @Test func aServerDownForAWhileLosesNothingAndBlocksNothing() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            try TestLog.fill(database, requests: 100, at: Date().timeIntervalSince1970 - 60)
            // First the server is unreachable (nothing listens on the port).
            var down = fleet
            down.postgres.port = 1
            var options = Replicator.Options()
            options.backoffInitial = 0.2
            options.backoffMax = 0.4
            var downOptions = options
            downOptions.queryTimeout = 0.5
            let unreachable = Replicator(fleet: down, database: database, options: downOptions, logger: TestPostgres.logger)
            let downClient = Replicator.makeClient(down)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await downClient.run() }
                group.addTask { try await unreachable.loop(downClient) }
                // The log goes on being written meanwhile, without waiting.
                for _ in 0..<16 {
                    let started = ContinuousClock.now
                    try TestLog.fill(database, requests: 50)
                    #expect(ContinuousClock.now - started < .seconds(2))
                    try await Task.sleep(for: .milliseconds(150))
                }
                group.cancelAll()
            }
            let failing = try #require(try await database.read { try ReplicationProgress.status($0) })
            #expect(failing.lastError != nil)
            #expect(failing.lastError?.contains(fleet.postgres.password?.value ?? "\u{1}") == false)
            #expect(failing.backlog > 600)
            #expect(failing.lagSeconds > 0)
            // Then it is back: the backlog drains.
            let replicator = Replicator(fleet: fleet, database: database, options: options, logger: TestPostgres.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await replicator.loop(client) }
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    if try await database.read({ try ReplicationProgress.status($0)?.backlog }) == 0 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                group.cancelAll()
            }
            try await TestLog.expectReplicated(database, client)
        }
    }

    @Test func hostileAndHugeValuesArriveIntact() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            let huge = String(repeating: "é'\"\\;--$1 ", count: 300_000)  // 3.3 MB
            try await database.write { db in
                try db.execute(sql: """
                    INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, received_at, finished_at, outcome, status, detail, reason, queue_wait_s, nonce)
                    VALUES ('m1', 'k', 's', 'mock', 4, 1, 2, 'rejected', 400, ?, 'nul' || char(0) || ?, 'not a number', ?)
                    """, arguments: [huge, "byte 🙂 '); DROP TABLE requests; --", Int64.max])
                try db.execute(sql: "INSERT INTO lifecycle (at, miner, event, detail) VALUES (1e308, X'FF00FE', 'start', 'x')")
            }
            try TestLog.fill(database, requests: 10)
            let replicator = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            try await replicator.drain(client)
            try await TestLog.expectReplicated(database, client)
            let rows = try await client.query("SELECT detail, reason, queue_wait_s, nonce FROM requests WHERE local_id = 1", logger: TestPostgres.logger)
            for try await (detail, reason, wait, nonce) in rows.decode((String, String, Double?, Int64).self) {
                #expect(detail == huge)
                #expect(reason == "nul\u{FFFD}byte 🙂 '); DROP TABLE requests; --")
                #expect(wait == 0)  // SQLite's own reading of the text as a number
                #expect(nonce == Int64.max)
            }
            #expect(try await TestPostgres.count(client, "SELECT count(*) FROM lifecycle WHERE at = 1e308") == 1)
        }
    }

    @Test func aRequestCorrectedAfterItWasSentIsSentAgain() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            try TestLog.fill(database, requests: 5)
            let replicator = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            try await replicator.drain(client)
            try await database.write { try $0.execute(sql: "UPDATE requests SET outcome = 'client_disconnect', reason = 'gone' WHERE id = 3") }
            #expect(try await replicator.drain(client) == 1)
            #expect(try await TestPostgres.count(client, "SELECT count(*) FROM requests WHERE local_id = 3 AND outcome = 'client_disconnect' AND reason = 'gone'") == 1)
            #expect(try await database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM replication_updates") } == 0)
            try await TestLog.expectReplicated(database, client)
        }
    }

    /// The drain rate of a backlog (hours of a busy host: 20 000 requests with 3 batches each
    /// and a timeout every third, 86 000 rows), printed for the README.
    @Test func aBacklogDrainsAtAMeasuredRate() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            let database = try TestLog.database()
            try TestLog.fill(database, requests: 20_000)
            let replicator = Replicator(fleet: fleet, database: database, logger: TestPostgres.logger)
            let started = ContinuousClock.now
            let sent = try await replicator.drain(client)
            let seconds = (ContinuousClock.now - started).seconds
            print("FleetTests: drained \(sent) rows in \(String(format: "%.2f", seconds)) s: \(Int(Double(sent) / seconds)) rows/s")
            #expect(Double(sent) / seconds > 2000)
            try await TestLog.expectReplicated(database, client)
        }
    }
}
