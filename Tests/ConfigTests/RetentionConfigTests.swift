import Testing
@testable import Config

/// `retention:` (issue #18): horizons from a day to 100 years or forever, each no longer than
/// the next, errors naming line and field.
@Suite struct RetentionConfigTests {
    let miner = "miners:\n  - name: m\n    hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n    port: 9000\n    backend: {kind: mock}\n"
    let day = 86_400.0

    func parse(_ retention: String) throws(ConfigError) -> RetentionConfig {
        try MinersConfig.parse(yaml: retention + miner, file: "r.yaml").retention
    }

    @Test func theDefaultsKeepBatchesAWeekRequestsNinetyDaysAndRollupsForever() throws {
        #expect(try parse("") == RetentionConfig(batches: 7 * day, requests: 90 * day, rollups: nil))
        #expect(try parse("retention: {}\n") == RetentionConfig())
    }

    @Test func horizonsTakeUnitsAndForever() throws {
        let config = try parse("retention:\n  batches: 36h\n  requests: 12w\n  rollups: 400D\n")
        #expect(config == RetentionConfig(batches: 36 * 3600, requests: 84 * day, rollups: 400 * day))
        #expect(try parse("retention: {batches: forever, requests: forever}\n") == RetentionConfig(batches: nil, requests: nil, rollups: nil))
        #expect(try parse("retention: {batches: 1d, requests: 1d, rollups: 1d}\n").rollups == day)
    }

    @Test(arguments: [
        ("retention: {batches: 0d}\n", "retention.batches"), ("retention: {batches: 12h}\n", "retention.batches"),
        ("retention: {requests: 1e30d}\n", "retention.requests"), ("retention: {requests: 36526d}\n", "retention.requests"),
        ("retention: {requests: nand}\n", "retention.requests"), ("retention: {requests: infd}\n", "retention.requests"),
        ("retention: {rollups: 7}\n", "retention.rollups"), ("retention: {rollups: [7d]}\n", "retention.rollups"),
        ("retention: {rollups: -7d}\n", "retention.rollups"), ("retention: {rollups: \"\(String(repeating: "9", count: 40))d\"}\n", "retention.rollups"),
    ])
    func anAttackersHorizonIsRefusedWithItsField(yaml: String, field: String) {
        #expect {
            try parse(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == 1 && error.field == field && error.message.contains("'forever' or a duration")
        }
    }

    @Test func aShorterHorizonMayNotFollowALongerOne() {
        #expect {
            try parse("retention:\n  batches: 30d\n  requests: 7d\n")
        } throws: { error in
            (error as? ConfigError).map { $0.line == 2 && $0.field == "retention.batches" && $0.message.contains("retention.requests") } ?? false
        }
        #expect {
            try parse("retention:\n  requests: forever\n  rollups: 365d\n")
        } throws: { error in
            (error as? ConfigError).map { $0.line == 2 && $0.field == "retention.requests" } ?? false
        }
        #expect {
            try parse("retention: {sizes: 7d}\n")
        } throws: { error in
            (error as? ConfigError).map { $0.line == 1 && $0.message.contains("sizes") } ?? false
        }
    }
}
