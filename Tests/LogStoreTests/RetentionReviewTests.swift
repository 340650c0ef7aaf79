import Foundation
import GRDB
import Synchronization
import Testing
@testable import LogStore

/// Review of #18: retention and the readers of its rollups against rows edited by hand or
/// written by a broken worker (they give odd figures, never a trap, an endless loop or a
/// JSON that cannot be written), and against rounds stopped part way and readers reading
/// while a round deletes.
@Suite struct RetentionReviewTests {
    let day = RetentionTests.day
    let start = RetentionTests.start

    func database() throws -> DatabaseQueue { try RetentionTests().emptyDatabase().0 }

    func pass(_ database: DatabaseQueue, batches: Double? = 2 * 86_400, requests: Double? = 7 * 86_400, rollups: Double? = nil,
              chunk: Int = 500, pause: @escaping @Sendable () async -> Void = {}) -> RetentionPass {
        var pass = RetentionPass(database: database, batches: batches, requests: requests, rollups: rollups, pause: pause)
        pass.chunk = chunk
        return pass
    }

    func insert(_ records: [RequestRecord], into database: DatabaseQueue) throws {
        try RetentionTests().insert(records, into: database)
    }

    /// `body`, or nil when it is still running after `seconds` (then cancelled).
    func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    func total(_ database: DatabaseQueue, from: Double, to: Double) throws -> (requests: Int, above: Int) {
        let figures = try RequestAnalysis.run([database], RequestAnalysis.Query(from: from, to: to))
        return (figures.map(\.requests).reduce(0, +), figures.map(\.batchesAboveLimit).reduce(0, +))
    }

    @Test func aHandEditedStateReadsAsNeverInsteadOfTrapping() async throws {
        let database = try database()
        try insert(RetentionTests.syntheticRequests(days: 3), into: database)
        let now = start + 3 * day
        _ = try await pass(database, batches: day, requests: 2 * day).run(now: now)
        let before = try total(database, from: start, to: now)
        try await database.write { db in
            try db.execute(sql: "UPDATE retention_state SET rolled_until = 'x', rolled_id = 'y', batches_until = 1e300, requests_until = -1e300, rollups_until = 9e999")
        }
        let state = try RetentionState.read(database)
        #expect(state.rolledUntil == 0 && state.rolledID == 0 && state.requestsUntil == 0 && state.rollupsUntil == 0)
        #expect(state.batchesUntil == 1e11)  // far in the future, not 1e300
        _ = try RequestAnalysis.run([database], RequestAnalysis.Query(from: start, to: now))
        _ = try ReportQueries.load([database], from: start, to: now)
        // And a round goes on from there without deleting what it has not rolled up.
        _ = try await pass(database, batches: day, requests: 2 * day).run(now: now)
        #expect(try RetentionState.read(database).rolledUntil == RequestRollups.hourStart(now - RetentionPass.settle))
        #expect(try total(database, from: start, to: now).requests == before.requests)
    }

    @Test func absurdRollupNumbersSaturateAndStayEncodable() async throws {
        let database = try database()
        try insert(RetentionTests.syntheticRequests(days: 3), into: database)
        let now = start + 3 * day
        _ = try await pass(database, batches: day, requests: 2 * day).run(now: now)
        try await database.write { db in
            try db.execute(sql: """
                UPDATE request_rollups SET requests = 9223372036854775807, items_sent = 1e30, bytes_sent = -5,
                    total_s_sum = 1e308, delivered_sum = 9e999, delivered_n = 1, ttfb_histogram = '99999:5,2000:1099511627775,35000:1'
                """)
        }
        let figures = try RequestAnalysis.run([database], RequestAnalysis.Query(from: start, to: now))
        #expect(!figures.isEmpty)
        #expect(figures.allSatisfy { $0.requests > 0 && $0.itemsUnsent >= 0 })
        #expect(figures.allSatisfy { ($0.ttfbP99 ?? 0).isFinite && ($0.meanTotal ?? 0).isFinite && ($0.meanDeliveredShare ?? 0).isFinite })
        _ = try JSONEncoder().encode(figures)
        let report = try ReportQueries.load([database], from: start, to: now)
        #expect(report.requests.allSatisfy { $0.count >= 0 && ($0.ttfb ?? 0).isFinite })
    }

    @Test func aTimeToFirstBatchOfInfinityFallsInTheLastBucket() {
        var histogram = TTFBHistogram()
        histogram.add(.infinity)
        histogram.add(.nan)
        histogram.add(-1)
        #expect(histogram.counts.keys.sorted() == [-349, 2000])
        #expect(histogram.percentile(1)!.isFinite)
        #expect(TTFBHistogram(text: histogram.text) == histogram)
    }

    /// `hour + 86_400 == hour` at -1e300, and a text hour is never below a number: each step
    /// must still delete something or stop.
    @Test(arguments: ["-1e300", "'x'", "-9e999"])
    func expiringRollupsEndWhateverTheHours(hour: String) async throws {
        let database = try database()
        try insert(RetentionTests.syntheticRequests(days: 3), into: database)
        let now = start + 3 * day
        _ = try await pass(database, batches: day, requests: day, rollups: 2 * day).run(now: now)
        try await database.write { db in
            try db.execute(sql: "UPDATE request_rollups SET hour = \(hour) WHERE hour = (SELECT min(hour) FROM request_rollups)")
        }
        let ended = try await within(20) { try await pass(database, batches: day, requests: day, rollups: 2 * day).run(now: now + day) }
        #expect(ended != nil, "the round did not end")
    }

    /// A worker whose clock said 1970: one hour with a request there, not a transaction for
    /// every hour since.
    @Test func aRequestFrom1970CostsOneHourNotFiftyYearsOfThem() async throws {
        let database = try database()
        var old = RequestRecord(worker: "a", minerHotkey: "5a", synapse: "S", backend: "mock", batchSize: 4,
                                receivedAt: 1, finishedAt: 2, outcome: "complete", status: 200)
        old.validatorHotkey = "v1"
        try insert([old] + RetentionTests.syntheticRequests(days: 1), into: database)
        let now = start + day
        let progress = try await within(20) { try await pass(database, batches: nil, requests: nil).run(now: now) }
        #expect(progress != nil, "the round did not end")
        #expect(try RetentionTests().count(database, "SELECT coalesce(sum(requests), 0) FROM request_rollups WHERE hour = 0") == 1)
    }

    /// Late rows of two rolled hours; the round re-rolling them is stopped after the first:
    /// the next round must still find the second.
    @Test func aRoundStoppedPartWayLosesNoLateRow() async throws {
        let database = try database()
        try insert(RetentionTests.syntheticRequests(days: 3), into: database)
        let now = start + 3 * day
        _ = try await pass(database, batches: nil, requests: nil).run(now: now)
        func rolled(_ hour: Double) throws -> Int {
            try RetentionTests().count(database, "SELECT coalesce(sum(requests), 0) FROM request_rollups WHERE hour = ?", [hour])
        }
        let hours = [start + 3600, start + 5 * 3600]
        let before = try hours.map(rolled)
        try insert(hours.map { hour in
            var late = RequestRecord(worker: "a", minerHotkey: "5a", synapse: "S", backend: "mock", batchSize: 4,
                                     receivedAt: hour + 60, finishedAt: hour + 61, outcome: "complete", status: 200)
            late.validatorHotkey = "v1"
            return late
        }, into: database)
        let stopped = Task { [self] in
            try await pass(database, batches: nil, requests: nil, pause: { withUnsafeCurrentTask { $0?.cancel() } }).run(now: now)
        }
        _ = try? await stopped.value
        #expect(try rolled(hours[0]) == before[0] + 1)
        _ = try await pass(database, batches: nil, requests: nil).run(now: now)
        #expect(try hours.map(rolled) == before.map { $0 + 1 })
    }

    /// Between every transaction of a round (rollups, batch rows, requests), a reader gets the
    /// figures it got before the round: never raw rows half deleted while the boundary waits.
    @Test func readersSeeTheSameFiguresAllThroughARound() async throws {
        let database = try database()
        try insert(RetentionTests.syntheticRequests(days: 10), into: database)
        let now = start + 10 * day
        let (from, to) = (start, now)
        let before = try total(database, from: from, to: to)
        #expect(before.above > 0)
        let seen = Mutex<[String]>([])
        let progress = try await pass(database, chunk: 20, pause: { [self] in
            let figures = (try? total(database, from: from, to: to)).map { "\($0.requests) \($0.above)" } ?? "error"
            seen.withLock { $0.append(figures) }
        }).run(now: now)
        #expect(progress.requestsDeleted > 0 && progress.batchesDeleted > 0)
        let differing = seen.withLock { $0 }.filter { $0 != "\(before.requests) \(before.above)" }
        #expect(differing.isEmpty, "\(differing.count) readings differ from \(before), e.g. \(differing.prefix(3))")
    }
}
