import Config
import Foundation
import GRDB
import LogStore
import Logging
import PostgresNIO
import Testing
@testable import Fleet

/// A scratch PostgreSQL database per test on the server of MINERS_TEST_POSTGRES (.ci/run
/// starts one). Unset: the test fails under CI (CI=true) and is passed over elsewhere.
enum TestPostgres {
    static var url: String? {
        let value = ProcessInfo.processInfo.environment["MINERS_TEST_POSTGRES"]
        if value == nil || value!.isEmpty {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("MINERS_TEST_POSTGRES is not set: the fleet tests need a PostgreSQL server (.ci/run starts one and sets it, e.g. postgres://miners:miners-test@127.0.0.1:5432/miners_test?sslmode=disable)")
            } else {
                print("FleetTests: MINERS_TEST_POSTGRES is not set; PostgreSQL tests not run (they fail under CI=true)")
            }
            return nil
        }
        return value
    }

    static let logger: Logger = {
        var logger = Logger(label: "fleet-tests")
        logger.logLevel = .warning
        return logger
    }()

    static func fleet(_ url: String, database: String? = nil, host: String = "test-host") throws -> FleetConfig {
        var postgres = try PostgresURL.parse(url)
        if let database { postgres.database = database }
        return FleetConfig(variable: "MINERS_TEST_POSTGRES", url: Secret(url), postgres: postgres, host: host)
    }

    /// Runs `body` with a fleet config pointing at a fresh database and a running client of it.
    static func withScratchDatabase(
        _ body: (FleetConfig, PostgresClient) async throws -> Void
    ) async throws {
        guard let url else { return }
        let admin = Replicator.makeClient(try fleet(url))
        let name = "miners_fleet_\(UInt32.random(in: 0...UInt32.max))"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            let config = try fleet(url, database: name)
            let client = Replicator.makeClient(config)
            group.addTask { await client.run() }
            do {
                try await body(config, client)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
        // Dropped on a client of its own (the others are closed by now).
        let cleaner = Replicator.makeClient(try fleet(url))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cleaner.run() }
            _ = try? await cleaner.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            group.cancelAll()
        }
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await (value) in rows.decode(Int64.self) { return value }
        return -1
    }
}

/// A local log database with rows in every replicated table.
enum TestLog {
    static func database() throws -> DatabaseQueue {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        return database
    }

    /// `count` requests (each with `batches` batch rows, every third with a timeout) and a few
    /// rows of each event table.
    static func fill(_ database: DatabaseQueue, requests count: Int, batches: Int = 3, at: Double = 1_800_000_000) throws {
        try database.write { db in
            for index in 0..<count {
                let received = at + Double(index)
                try db.execute(sql: """
                    INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey, received_at, first_batch_at,
                        finished_at, outcome, status, batches, items_sent, uuid)
                    VALUES ('m1', '5Hot', 'StreamingSynapse', 'mock', 4, '5Val', ?, ?, ?, 'complete', 200, ?, 12, ?)
                    """, arguments: [received, received + 0.1, received + 1, batches, UUID().uuidString])
                let id = db.lastInsertedRowID
                for seq in 0..<batches {
                    try db.execute(sql: "INSERT INTO batches (request_id, seq, offset_s, items, bytes, final) VALUES (?, ?, ?, 4, 20, ?)",
                                   arguments: [id, seq, 0.1 * Double(seq + 1), seq == batches - 1 ? 1 : 0])
                }
                if index % 3 == 0 {
                    try db.execute(sql: "INSERT INTO timeouts (request_id, at, limit_s, elapsed_s, batches_sent, items_dropped) VALUES (?, ?, 12, 12.1, 2, 5)",
                                   arguments: [id, received + 12])
                }
            }
            for index in 0..<max(1, count / 10) {
                let time = at + Double(index)
                try db.execute(sql: "INSERT INTO lifecycle (at, miner, event, pid) VALUES (?, 'm1', 'start', 42)", arguments: [time])
                try db.execute(sql: "INSERT INTO chain_events (at, kind, miner, network, netuid, outcome) VALUES (?, 'serve', 'm1', 'finney', 35, 'served')", arguments: [time])
                try db.execute(sql: "INSERT INTO log_losses (at, worker, lost) VALUES (?, 'm1', 3)", arguments: [time])
                try db.execute(sql: """
                    INSERT INTO standing (at, miner, hotkey, network, netuid, block, tempo, registered, incentive) VALUES (?, 'm1', '5Hot', 'finney', 35, 100, 360, 1, 0.01)
                    """, arguments: [time])
                try db.execute(sql: """
                    INSERT INTO alerts (at, kind, subject, noun, state, since, detail) VALUES (?, 'crash_loop', 'm1', 'miner', 'firing', ?, 'x')
                    """, arguments: [time, time])
            }
        }
    }

    /// Local and server rows agree, table by table: the same ids, each once.
    static func expectReplicated(_ database: DatabaseQueue, _ client: PostgresClient, host: String = "test-host") async throws {
        for table in ReplicationProgress.tables {
            let local = try await database.read { db in
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1
            }
            let server = try await TestPostgres.count(client, "SELECT count(*) FROM \(table) WHERE host = '\(host)'")
            #expect(server == local, "\(table): \(local) rows locally, \(server) in PostgreSQL")
            if table == "batches" {
                let distinct = try await TestPostgres.count(client, "SELECT count(DISTINCT (request_id, seq)) FROM batches")
                #expect(distinct == server)
            } else {
                let localSum = try await database.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(sum(id), 0) FROM \(table)") ?? -1 }
                let serverSum = try await TestPostgres.count(client, "SELECT coalesce(sum(local_id), 0)::bigint FROM \(table) WHERE host = '\(host)'")
                #expect(serverSum == localSum, "\(table): ids differ")
            }
        }
    }
}
