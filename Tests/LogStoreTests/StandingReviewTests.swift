import Foundation
import Testing
@testable import LogStore

/// Review of #18: a standing row's tempo comes from a chain node or a hand-edited database.
@Suite struct StandingRecordReviewTests {
    @Test func emissionPerDayOfAnAbsurdTempoIsNotATrap() {
        var row = StandingRecord(at: 0, miner: "m", hotkey: "5x", network: "finney", netuid: 35, block: 1, tempo: Int.max, registered: true, emission: 1)
        #expect(row.emissionPerDay! >= 0)
        row.tempo = -1
        #expect(row.emissionPerDay == nil)
        row.tempo = 360
        #expect(row.emissionPerDay == 7200.0 / 361)
    }
}

/// Review of #18: `standing` and `alerts` rows are read by the supervisor (metrics, the alert
/// monitor's start) and by `status`; rows edited by hand must not trap them.
@Suite struct HandEditedRowsReviewTests {
    @Test func garbageStandingAndAlertRowsReadAsMissingValues() throws {
        let database = try StandingRecordTests().database()
        let writer = StandingRecordTests()
        try database.write { db in
            try writer.row("a", at: 100, registered: true).insert(into: db)
            try writer.row("a", at: 200, registered: true).insert(into: db)
            try db.execute(sql: """
                UPDATE standing SET uid = 'x', block = 'y', tempo = 1e30, incentive = 9e999, stake = 'z', at = 'w', miner = 7 WHERE id = 2
                """)
            try db.execute(sql: """
                INSERT INTO alerts (at, kind, subject, noun, state, since, detail) VALUES ('x', 5, 'a', 'miner', 'firing', 'y', x'00ff')
                """)
        }
        let standing = try HotkeyStanding.all(database)
        #expect(standing.count == 2)
        let edited = try #require(standing.first { $0.latest.miner == "7" })
        #expect(edited.latest.uid == nil && edited.latest.block == 0 && edited.latest.incentive == nil && edited.latest.stake == nil)
        _ = try JSONEncoder().encode(standing)
        let firing = try AlertRecord.firing(database)
        #expect(firing.count == 1 && firing[0].at == 0 && firing[0].since == 0 && firing[0].kind == "5")
    }
}
