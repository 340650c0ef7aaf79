import Foundation
import Testing
@testable import Chain

/// The standing fields of the recorded Finney metagraph (subnet 1, block 6,852,690), decoded as
/// bittensor 10.5.0 decodes them (the values below are what bittensor reads from the same bytes).
@Suite struct StandingFieldsTests {
    let metadata = ChainFixtures.metadata

    func decode(_ method: String) throws -> ScaleValue {
        try ScaleValueDecoder(registry: metadata.registry).decode(try metadata.apiMethod(method).output, from: ChainFixtures.stateCall(method))
    }

    func metagraph() throws -> ChainMetagraph {
        let neurons = try #require(try decode("NeuronInfoRuntimeApi_get_neurons_lite").items)
        guard case .some(let state?) = try decode("SubnetInfoRuntimeApi_get_subnet_state").optionValue,
              case .some(let info?) = try decode("SubnetInfoRuntimeApi_get_selective_mechagraph").optionValue else {
            throw ChainFailure("no subnet state or mechagraph in the recording")
        }
        let stakes = try #require(state["total_stake"]?.items)
        return ChainMetagraph(
            netuid: 1, network: "finney", block: 6_852_690, blockHash: "0x", tempo: 99,
            immunityPeriod: info["immunity_period"]?.optionValue??.int,
            neurons: MetagraphFetcher.registered(try neurons.map { try MetagraphFetcher.neuron($0, totalStake: stakes) }, mechagraph: info)
        )
    }

    @Test func decodesIncentiveEmissionRankTrustAsBittensor() throws {
        let graph = try metagraph()
        // uid 395, the subnet's only miner with incentive: every u16 field at 65535.
        let miner = graph.neurons[395]
        #expect(miner.hotkey == "5HCFWvRqzSHWRPecN7q8J6c7aKQnrCZTMHstPv39xL1wgDHh")
        #expect((miner.rank, miner.trust, miner.incentive) == (1, 1, 1))
        #expect(miner.emission == 41.000228794)
        // A validator: emission (dividends) but no incentive, rank or trust.
        let validator = graph.neurons[24]
        #expect((validator.rank, validator.trust, validator.incentive) == (0, 0, 0))
        #expect(validator.emission == 1.404278762)
        #expect(graph.neurons.filter { ($0.incentive ?? 0) > 0 }.count == 1)
        #expect(graph.neurons.filter { ($0.emission ?? 0) > 0 }.count == 11)
    }

    @Test func registrationBlocksAndImmunityComeFromTheMechagraph() throws {
        let graph = try metagraph()
        #expect(graph.immunityPeriod == 7200)
        #expect([0, 24, 395].map { graph.neurons[$0].blockAtRegistration } == [6_575_900, 3_806_301, 4_920_350])
        // Registered 5,863 blocks before the snapshot: 1,337 of 7,200 left; long-registered ones have none.
        #expect(graph.immunityLeft(graph.neurons[184]) == 1337)
        #expect(graph.immunityLeft(graph.neurons[695]) == 6209)
        #expect(graph.immunityLeft(graph.neurons[395]) == 0)
        #expect(graph.neurons.filter { graph.immunityLeft($0)! > 0 }.map(\.uid) == [184, 695])
    }

    @Test func aSnapshotWithoutTheNewFieldsStillReads() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("old-snapshot-\(UUID().uuidString).json").path
        try Data("""
            {"netuid": 1, "network": "finney", "block": 5, "block_hash": "0x", "tempo": 99, "neurons": [
             {"uid": 0, "hotkey": "5F", "coldkey": "5G", "stake": 1.5, "stake_rao": 1500000000, "validator_permit": false,
              "active": true, "ip": "0.0.0.0", "port": 0, "ip_type": 0, "last_update": 3}]}
            """.utf8).write(to: URL(fileURLWithPath: path))
        let graph = try ChainMetagraph.read(from: path)
        #expect(graph.immunityPeriod == nil && graph.neurons[0].incentive == nil)
        #expect(graph.immunityLeft(graph.neurons[0]) == nil)
    }
}
