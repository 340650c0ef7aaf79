import Config
import Foundation
import GRDB
import LogStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing
@testable import Fleet

/// The replicator sends the last rows at a graceful shutdown of the supervisor's group.
@Suite struct ReplicatorShutdownTests {
    static func requests(_ client: PostgresClient, host: String) async throws -> Int64 {
        try await TestPostgres.count(client, "SELECT count(*) FROM requests WHERE host = '\(host)'")
    }

    /// Waits (at most 60 s) until PostgreSQL holds `count` requests of `host`.
    static func waitFor(_ count: Int64, host: String, _ client: PostgresClient) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await requests(client, host: host) < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await requests(client, host: host) == count, "\(host)")
    }

    @Test(.timeLimit(.minutes(2))) func theLastRowsGoAtAGracefulShutdown() async throws {
        try await TestPostgres.withScratchDatabase { fleet, client in
            try await FleetDatabase.migrate(client, logger: TestPostgres.logger)
            let database = try TestLog.database()
            let now = Date().timeIntervalSince1970
            try TestLog.fill(database, requests: 40, at: now - 600)
            var options = Replicator.Options()
            options.idleInterval = 3600  // after the backlog, no more rounds until shutdown
            let (rounds, roundEnded) = AsyncStream.makeStream(of: Int.self)
            options.afterRound = { roundEnded.yield($0) }
            let replicator = Replicator(fleet: fleet, database: database, options: options, logger: TestPostgres.logger)
            let group = ServiceGroup(configuration: .init(services: [replicator], logger: TestPostgres.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Self.waitFor(40, host: "test-host", client)
                // The loop pauses once a round found nothing: from then on only the shutdown sends.
                for await sent in rounds where sent == 0 { break }
                try TestLog.fill(database, requests: 25, at: now - 300)  // as the last workers stop
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await Self.requests(client, host: "test-host") == 40, "sent before the shutdown: the test proves nothing")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try await TestLog.expectReplicated(database, client)
        }
    }
}
