import Testing
@testable import Chain

/// Metadata v15 of runtime spec 343 (a real Finney recording), and the runtime-API answers
/// recorded with it, decoded by their metadata types.
@Suite struct MetadataTests {
    let metadata = ChainFixtures.metadata

    @Test func findsServeAxonByNameAsBittensorDoes() throws {
        let (pallet, call, fields) = try metadata.call(pallet: "SubtensorModule", "serve_axon")
        #expect(pallet == 7)
        #expect(call == 4)
        #expect(fields.map(\.name) == ServeAxonCall.parameterNames)
        #expect(throws: ScaleError.self) { try metadata.call(pallet: "SubtensorModule", "no_such_call") }
        #expect(metadata.extrinsicVersion == 4)
    }

    @Test func listsTheElevenTransactionExtensionsOfSpec343() {
        #expect(metadata.extensions.map(\.identifier) == [
            "CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality", "CheckNonce",
            "CheckWeight", "ChargeTransactionPayment", "SubtensorTransactionExtension", "DrandPriority", "CheckMetadataHash",
        ])
    }

    @Test func decodesAllNeuronsOfSubnet1() throws {
        let method = try metadata.apiMethod("NeuronInfoRuntimeApi_get_neurons_lite")
        let value = try ScaleValueDecoder(registry: metadata.registry).decode(method.output, from: ChainFixtures.stateCall("NeuronInfoRuntimeApi_get_neurons_lite"))
        let neurons = try #require(value.items)
        #expect(neurons.count == 1024)
        #expect(neurons.map { $0["uid"]?.int } == (0..<1024).map { $0 })
        #expect(neurons.filter { $0["validator_permit"]?.boolValue == true }.count == 12)
        #expect(neurons.allSatisfy { $0["hotkey"]?.byteArray?.count == 32 && $0["coldkey"]?.byteArray?.count == 32 })

        let state = try ScaleValueDecoder(registry: metadata.registry).decode(
            try metadata.apiMethod("SubnetInfoRuntimeApi_get_subnet_state").output,
            from: ChainFixtures.stateCall("SubnetInfoRuntimeApi_get_subnet_state")
        )
        guard case .some(let subnet?) = state.optionValue else { Issue.record("no subnet state"); return }
        let stakes = try #require(subnet["total_stake"]?.items)
        #expect(stakes.count == 1024)
        // CHAIN.md §3.3: validator uid 24 holds 58,036.8 (11,468.7 alpha + 46,568.1 weighted TAO).
        let uid24 = try MetagraphFetcher.neuron(neurons[24], totalStake: stakes)
        #expect(uid24.validatorPermit)
        #expect(abs(uid24.stake - 58_036.8) < 0.1)
        #expect(uid24.hotkey.hasPrefix("5"))
    }

    @Test func decodesTheSelectiveMechagraphTempo() throws {
        let value = try ScaleValueDecoder(registry: metadata.registry).decode(
            try metadata.apiMethod("SubnetInfoRuntimeApi_get_selective_mechagraph").output,
            from: ChainFixtures.stateCall("SubnetInfoRuntimeApi_get_selective_mechagraph")
        )
        guard case .some(let info?) = value.optionValue, case .some(let tempo?) = info["tempo"]?.optionValue else {
            Issue.record("no tempo in \(value)")
            return
        }
        #expect(tempo.int == 99)
        guard case .some(let limit?) = info["serving_rate_limit"]?.optionValue else { Issue.record("no serving_rate_limit"); return }
        #expect(limit.int == 10)
    }

    @Test func truncatedMetadataIsAnError() {
        let bytes = Array(ChainFixtures.stateCall("NeuronInfoRuntimeApi_get_neurons_lite").dropLast(5))
        #expect(throws: ScaleError.self) {
            try ScaleValueDecoder(registry: metadata.registry).decode(
                try metadata.apiMethod("NeuronInfoRuntimeApi_get_neurons_lite").output, from: bytes
            )
        }
        #expect(throws: ScaleError.self) { try RuntimeMetadata(prefixed: [0x6d, 0x65, 0x74, 0x61, 14]) }
    }
}
