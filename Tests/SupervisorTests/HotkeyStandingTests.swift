import Chain
import Config
import Foundation
import GRDB
import LogStore
import Logging
import Testing
@testable import Supervisor

/// A refresh's standing rows per configured hotkey, and the `miners_hotkey_*` gauges.
@Suite struct HotkeyStandingTests {
    func snapshot() throws -> ChainMetagraph {
        try JSONDecoder().decode(ChainMetagraph.self, from: Data("""
            {"netuid": 35, "network": "finney", "block": 1000, "block_hash": "0x", "tempo": 360, "immunity_period": 100, "neurons": [
             {"uid": 4, "hotkey": "5Alpha", "coldkey": "5C", "stake": 2.5, "stake_rao": 2500000000, "validator_permit": false,
              "active": true, "ip": "0.0.0.0", "port": 0, "ip_type": 0, "last_update": 990,
              "rank": 0.1, "trust": 0.2, "incentive": 0.3, "emission": 0.361, "block_at_registration": 950}]}
            """.utf8))
    }

    @Test func aRefreshRecordsEachConfiguredHotkeyRegisteredOrNot() throws {
        let graph = try snapshot()
        let alpha = StandingRecord(metagraph: graph, miner: "alpha", hotkey: "5Alpha", at: 7)
        #expect(alpha == StandingRecord(
            at: 7, miner: "alpha", hotkey: "5Alpha", network: "finney", netuid: 35, block: 1000, tempo: 360, registered: true,
            uid: 4, stake: 2.5, rank: 0.1, trust: 0.2, incentive: 0.3, emission: 0.361, lastUpdate: 990,
            registrationBlock: 950, immunityLeft: 50
        ))
        let beta = StandingRecord(metagraph: graph, miner: "beta", hotkey: "5Beta", at: 7)
        #expect(!beta.registered && beta.uid == nil && beta.incentive == nil && beta.block == 1000)
    }

    @Test func oneTargetPerSubnetRecordsEveryMinerOnIt() {
        func miner(_ name: String, netuid: Int, refresh: ChainConfig.Refresh, file: String?) -> MinerConfig {
            var miner = MinerConfig(name: name, hotkey: "5\(name)", port: 1, backend: .mock(MockBackendConfig()))
            miner.chain = ChainConfig(netuid: netuid, refresh: refresh)
            miner.admission.metagraph = file
            return miner
        }
        let config = MinersConfig(file: "c.yaml", miners: [
            miner("a", netuid: 35, refresh: .tempo, file: "a.json"), miner("b", netuid: 35, refresh: .tempo, file: "b.json"),
            miner("c", netuid: 35, refresh: .off, file: nil), miner("d", netuid: 1, refresh: .off, file: nil),
        ])
        let targets = MetagraphTarget.all(config)
        #expect(targets.map(\.path) == ["a.json", "b.json"])
        // b's file is of the same subnet: recording there too would count every read twice.
        #expect(targets.map(\.hotkeys) == [["a": "5a", "b": "5b", "c": "5c"], [:]])
    }

    func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func gaugesFollowTheTwoReadRule() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("standing-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        let graph = try snapshot()
        let metrics = try MinerMetrics(database: database, miners: ["alpha"])
        let status = [MinerStatus(name: "alpha", hotkey: "5Alpha", host: "127.0.0.1", port: 1, backend: "mock", batchSize: 4, state: .running)]
        func scrape(_ row: StandingRecord) async throws -> String {
            writer.record(row)
            writer.flush()
            return try await metrics.scrape(status: status)
        }
        let registered = StandingRecord(metagraph: graph, miner: "alpha", hotkey: "5Alpha", at: 1)
        let missing = StandingRecord(metagraph: graph, miner: "alpha", hotkey: "5Elsewhere", at: 2)

        var text = try await scrape(registered)
        #expect(sample(text, #"miners_hotkey_incentive{miner="alpha"}"#) == 0.3)
        #expect(abs(sample(text, #"miners_hotkey_emission_per_day{miner="alpha"}"#)! - 0.361 * 7200 / 361) < 1e-9)
        #expect(sample(text, #"miners_hotkey_stake{miner="alpha"}"#) == 2.5)
        #expect(sample(text, #"miners_hotkey_immunity_blocks{miner="alpha"}"#) == 50)
        #expect(sample(text, #"miners_hotkey_registered{miner="alpha"}"#) == 1)
        // One read without the hotkey: nothing changes yet.
        text = try await scrape(missing)
        #expect(sample(text, #"miners_hotkey_registered{miner="alpha"}"#) == 1)
        #expect(sample(text, #"miners_hotkey_incentive{miner="alpha"}"#) == 0.3)
        // Two in a row: deregistered.
        text = try await scrape(missing)
        #expect(sample(text, #"miners_hotkey_registered{miner="alpha"}"#) == 0)
        #expect(sample(text, #"miners_hotkey_incentive{miner="alpha"}"#) == 0)
        #expect(sample(text, #"miners_hotkey_stake{miner="alpha"}"#) == 0)
        // Registered again.
        text = try await scrape(registered)
        #expect(sample(text, #"miners_hotkey_registered{miner="alpha"}"#) == 1)
    }
}
