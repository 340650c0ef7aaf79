import Foundation
import GRDB
import Logging
import Testing
@testable import LogStore

/// `standing` rows through the log writer, and the two-read rule for "deregistered".
@Suite struct StandingRecordTests {
    func database() throws -> DatabaseQueue {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("standing-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        return database
    }

    func row(_ miner: String, at: Double, registered: Bool, incentive: Double = 0.25) -> StandingRecord {
        registered
            ? StandingRecord(at: at, miner: miner, hotkey: "5H\(miner)", network: "finney", netuid: 35, block: Int(at), tempo: 360,
                             registered: true, uid: 7, stake: 12.5, rank: 0, trust: 0, incentive: incentive, emission: 0.361,
                             lastUpdate: 90, registrationBlock: 10, immunityLeft: 0)
            : StandingRecord(at: at, miner: miner, hotkey: "5H\(miner)", network: "finney", netuid: 35, block: Int(at), tempo: 360, registered: false)
    }

    @Test func emissionPerDayIsPerEpochTimesEpochsADay() {
        // 7200 blocks a day / (360 + 1) blocks an epoch = 19.94… epochs.
        #expect(abs(row("a", at: 1, registered: true).emissionPerDay! - 0.361 * 7200 / 361) < 1e-12)
        #expect(abs(row("a", at: 1, registered: true).emissionPerDay! - 7.2) < 1e-9)
        #expect(row("a", at: 1, registered: false).emissionPerDay == nil)
    }

    @Test func rowsGoThroughTheLogWriterAndReadBackWhole() throws {
        let database = try database()
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        let written = [row("a", at: 1, registered: true), row("a", at: 2, registered: false)]
        for record in written { writer.record(record) }
        #expect(writer.flush() == 2)
        #expect(try StandingRecord.history(database, from: 0, to: 10) == written)
        #expect(try StandingRecord.history(database, from: 1.5, to: 10) == [written[1]])
        #expect(try StandingRecord.lastRegistered(database) == ["a": written[0]])
    }

    /// Status, metrics and alerts agree: one unregistered read is not yet a deregistration.
    @Test func deregisteredTakesTwoUnregisteredReadsInARow() throws {
        let database = try database()
        func state(_ miner: String) throws -> HotkeyStanding.State? {
            try HotkeyStanding.all(database).first { $0.latest.miner == miner }?.state
        }
        try database.write { db in
            for record in [
                row("steady", at: 1, registered: true), row("steady", at: 2, registered: true),
                row("blip", at: 1, registered: true), row("blip", at: 2, registered: false), row("blip", at: 3, registered: true),
                row("once", at: 1, registered: true), row("once", at: 2, registered: false),
                row("gone", at: 1, registered: true), row("gone", at: 2, registered: false), row("gone", at: 3, registered: false),
                row("never", at: 1, registered: false),
            ] { try record.insert(into: db) }
        }
        #expect(try StandingRecord.deregistered(database) == ["gone"])
        #expect(try state("steady") == .registered && state("blip") == .registered)
        #expect(try state("once") == .unconfirmed && state("never") == .unconfirmed)
        #expect(try state("gone") == .deregistered)
        // What one bad read does not erase: the last registered row.
        let once = try #require(try HotkeyStanding.all(database).first { $0.latest.miner == "once" })
        #expect(once.lastRegistered?.at == 1 && once.latest.uid == nil)

        // Registered again: one good read ends it.
        try database.write { db in try row("gone", at: 4, registered: true, incentive: 0.5).insert(into: db) }
        #expect(try StandingRecord.deregistered(database) == [])
        #expect(try state("gone") == .registered)
    }

    @Test func statusJSONIsTheNewestRowFlatWithStateAndEmissionPerDay() throws {
        let standing = HotkeyStanding(newestFirst: [row("a", at: 2, registered: true)], lastRegistered: nil)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(standing)) as! [String: Any]
        #expect(object["state"] as? String == "registered")
        #expect(object["miner"] as? String == "a" && object["uid"] as? Int == 7 && object["incentive"] as? Double == 0.25)
        #expect(abs((object["emissionPerDay"] as? Double ?? 0) - 7.2) < 1e-9)
    }

    @Test func aDatabaseWithoutTheTableHasNoStanding() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("standing-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        #expect(try HotkeyStanding.all(database).isEmpty)
        #expect(try StandingRecord.history(database, from: 0, to: 1).isEmpty)
    }
}
