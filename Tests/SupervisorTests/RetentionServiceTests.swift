import Config
import Foundation
import GRDB
import Logging
import Synchronization
import Testing
@testable import LogStore
@testable import Supervisor

/// The supervisor's retention rounds: on a schedule of the injected clock, with the horizons of
/// the config in force at each round.
@Suite struct RetentionServiceTests {
    @Test func roundsFollowTheConfigInForce() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("retention-service-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let now = 1_790_812_800.0
        try await database.write { db in
            for age in [40.0, 20, 3] {  // days
                let at = now - age * 86_400
                try LogWriter.insert(RequestRecord(worker: "m", minerHotkey: "5m", synapse: "S", backend: "mock", batchSize: 4,
                                                   receivedAt: at, finishedAt: at + 1, outcome: "complete", status: 200), into: db)
            }
        }
        let retention = Mutex(RetentionConfig(batches: 7 * 86_400, requests: 30 * 86_400, rollups: nil))
        let rounds = Mutex(0)
        // Each sleep of the service is a round boundary: the test sees how many began.
        let clock = SupervisorClock(now: { now }, sleep: { _ in
            rounds.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(20))
        })
        let service = RetentionService(database: database, retention: { retention.withLock { $0 } }, logger: Logger(label: "test"), clock: clock)
        func ages() throws -> [Int] {
            try database.read { try Double.fetchAll($0, sql: "SELECT received_at FROM requests ORDER BY received_at") }.map { Int(((now - $0) / 86_400).rounded()) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            #expect(await wait { try ages() == [20, 3] })
            // A reload shortens requests to a week.
            retention.withLock { $0.requests = 7 * 86_400 }
            #expect(await wait { try ages() == [3] })
            group.cancelAll()
        }
        #expect(rounds.withLock { $0 } >= 2)
        #expect(try await database.read { try Int.fetchOne($0, sql: "SELECT sum(requests) FROM request_rollups") } == 3)
    }

    /// Polls `condition` every 20 ms for up to 20 s (far beyond what it takes, for a loaded machine).
    func wait(_ condition: () throws -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if (try? condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
