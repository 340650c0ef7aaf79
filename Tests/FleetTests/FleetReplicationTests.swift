import Config
import Foundation
import LogStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing
@testable import Fleet

/// The supervisor's replication follows `fleet:` across reloads: added, pointed at another
/// server, removed, added again under another host name; the last rows still go at shutdown.
@Suite struct FleetReplicationTests {
    static func requests(_ client: PostgresClient, host: String = "test-host") async throws -> Int64 {
        try await ReplicatorShutdownTests.requests(client, host: host)
    }

    /// Waits (at most 30 s) until `condition` holds.
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition(), "\(what)")
    }

    @Test(.timeLimit(.minutes(2))) func replicationFollowsTheFleetOfEachReload() async throws {
        try await TestPostgres.withScratchDatabase { first, firstClient in
            try await TestPostgres.withScratchDatabase { second, secondClient in
                try await FleetDatabase.migrate(firstClient, logger: TestPostgres.logger)  // counted before a replicator has
                try await FleetDatabase.migrate(secondClient, logger: TestPostgres.logger)
                let database = try TestLog.database()
                let now = Date().timeIntervalSince1970
                try TestLog.fill(database, requests: 30, at: now - 900)
                let configured = Mutex<FleetConfig?>(nil)  // started without fleet:
                let lines = LoggedLines()
                var options = Replicator.Options()
                // Each replicator sends what waits at its start; then only the last round at
                // shutdown sends (proven below). Rounds that found nothing are counted.
                options.idleInterval = 3600
                let idleRounds = Mutex(0)
                options.afterRound = { sent in if sent == 0 { idleRounds.withLock { $0 += 1 } } }
                let service = FleetReplication(
                    fleet: { configured.withLock { $0 } }, openDatabase: { database }, options: options, poll: .milliseconds(20),
                    logger: Logger(label: "test") { _ in lines }
                )
                let group = ServiceGroup(configuration: .init(services: [service], logger: TestPostgres.logger))
                var renamed = first
                renamed.host = "renamed"
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    // Added (by a reload, or before the service read it): the rows waiting go.
                    configured.withLock { $0 = first }
                    try await ReplicatorShutdownTests.waitFor(30, host: "test-host", firstClient)

                    // Pointed at another server: once the old replicator is gone, new rows go
                    // there only.
                    configured.withLock { $0 = second }
                    try await Self.waitUntil("the change noted") { lines.all.contains { $0.hasPrefix("fleet: changed by a reload") } }
                    try TestLog.fill(database, requests: 20, at: now - 600)
                    try await ReplicatorShutdownTests.waitFor(20, host: "test-host", secondClient)
                    #expect(try await Self.requests(firstClient) == 30)

                    // Removed: nothing more goes anywhere.
                    configured.withLock { $0 = nil }
                    try await Self.waitUntil("the removal noted") { lines.all.contains { $0.hasPrefix("fleet: removed from the config") } }
                    // Off: `status` and the metrics show no lag that would only grow.
                    try await Self.waitUntil("replication marked off") {
                        (try? database.read { try ReplicationProgress.status($0) }) == .some(nil)
                    }
                    try TestLog.fill(database, requests: 10, at: now - 300)
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(try await Self.requests(firstClient) == 30)
                    #expect(try await Self.requests(secondClient) == 20)

                    // Added again under another host name: the rows that waited go, and at a
                    // graceful shutdown the last ones too.
                    let idleBefore = idleRounds.withLock { $0 }
                    configured.withLock { $0 = renamed }
                    try await ReplicatorShutdownTests.waitFor(10, host: "renamed", firstClient)
                    try await Self.waitUntil("the renamed replicator idle") { idleRounds.withLock { $0 } > idleBefore }
                    try TestLog.fill(database, requests: 5, at: now - 100)
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(try await Self.requests(firstClient, host: "renamed") == 10, "sent before the shutdown: the test proves nothing")
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
                #expect(try await database.read { try ReplicationProgress.status($0) }?.host == "renamed")
                #expect(try await Self.requests(firstClient, host: "renamed") == 15)
                #expect(try await Self.requests(firstClient) == 30)
                #expect(try await Self.requests(secondClient) == 20)
            }
        }
    }
}
