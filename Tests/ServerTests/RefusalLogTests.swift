import Foundation
import GRDB
import LogStore
import Logging
import TestSupport
import Testing
@testable import Server

/// Refusals are aggregated per source, validator, reason and second, and their log lines are
/// rate-limited: a flood costs a row a second and a handful of lines.
@Suite struct RefusalLogTests {
    func setUp() throws -> (LogWriter, DatabaseQueue, LoggedLines, Logger) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("refusals-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let lines = LoggedLines()
        let logger = Logger(label: "test") { _ in lines }
        return (LogWriter(database: database, logger: logger), database, lines, logger)
    }

    func refusal(at second: Double, from address: String, reason: String = "bad_signature", validator: String? = nil) -> RequestRecord {
        var record = RequestRecord(
            worker: "w", minerHotkey: "m", synapse: "StreameinsteinSynapse", backend: "mock", batchSize: 1,
            receivedAt: second, finishedAt: second, outcome: "rejected", status: 401
        )
        record.reason = reason
        record.dendriteIP = address
        record.validatorHotkey = validator
        record.claimedHotkey = validator == nil ? "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty" : nil
        return record
    }

    func rows(_ database: DatabaseQueue) throws -> [Row] {
        try database.read { try Row.fetchAll($0, sql: "SELECT dendrite_ip, reason, validator_hotkey, claimed_hotkey, count FROM requests ORDER BY id") }
    }

    @Test func aFloodIsARowPerSourceAndSecondAndAFewLines() throws {
        let (log, database, lines, logger) = try setUp()
        let refusals = RefusalLog(log: log, logger: logger)
        for index in 0..<1000 { refusals.add(refusal(at: 1_800_000_000 + Double(index % 2) + 0.5, from: "10.0.0.1")) }
        for _ in 0..<7 { refusals.add(refusal(at: 1_800_000_000.5, from: "10.0.0.2")) }
        refusals.flush(before: 1_800_000_001)  // the first second only
        log.flush()
        #expect(try rows(database).map { $0["count"] as Int }.sorted() == [7, 500])
        refusals.flush()
        log.flush()
        let all = try rows(database)
        #expect(all.map { $0["count"] as Int }.reduce(0, +) == 1007)
        #expect(all.allSatisfy { ($0["validator_hotkey"] as String?) == nil && ($0["claimed_hotkey"] as String?) != nil })
        // At most 10 lines a second (two seconds here), and a line saying how many more there were.
        let refusalLines = lines.all.filter { $0.hasPrefix("refused ") }
        #expect(refusalLines.count >= 10 && refusalLines.count <= 20)
        #expect(lines.all.contains { $0.contains("more refusal lines left out") })
    }

    /// An IPv6 attacker has a whole /64: its addresses count as one source.
    @Test func ipv6RefusalsAreCountedPerSlash64() throws {
        let (log, database, _, logger) = try setUp()
        let refusals = RefusalLog(log: log, logger: logger)
        for index in 1...300 { refusals.add(refusal(at: 1_800_000_000.5, from: "2001:db8:1:2::\(String(index, radix: 16))")) }
        refusals.add(refusal(at: 1_800_000_000.5, from: "2001:db8:1:3::1"))
        refusals.flush()
        log.flush()
        #expect(try rows(database).map { $0["count"] as Int }.sorted() == [1, 300])
    }

    /// Signed refusals (any key will do) are aggregated too, per verified validator.
    @Test func signedRefusalsArePerValidator() throws {
        let (log, database, _, logger) = try setUp()
        let refusals = RefusalLog(log: log, logger: logger)
        for _ in 0..<50 { refusals.add(refusal(at: 1_800_000_000.5, from: "10.0.0.1", reason: "rate_limited", validator: "5A")) }
        for _ in 0..<5 { refusals.add(refusal(at: 1_800_000_000.5, from: "10.0.0.1", reason: "rate_limited", validator: "5B")) }
        refusals.flush()
        log.flush()
        let all = try rows(database)
        #expect(Set(all.map { "\($0["validator_hotkey"] as String? ?? "-")=\($0["count"] as Int)" }) == ["5A=50", "5B=5"])
    }

    /// Groups held in memory are bounded whatever the clock or the sources: beyond the bound,
    /// what is held is written out first.
    @Test func heldGroupsAreBounded() throws {
        let (log, database, _, logger) = try setUp()
        let refusals = RefusalLog(log: log, logger: logger, maxGroups: 16)
        for index in 0..<100 { refusals.add(refusal(at: 1_800_000_000 + Double(index), from: "10.0.0.\(index % 7)")) }
        log.flush()
        #expect(try rows(database).count >= 100 - 16)
        refusals.flush()
        log.flush()
        #expect(try rows(database).map { $0["count"] as Int }.reduce(0, +) == 100)
    }
}
