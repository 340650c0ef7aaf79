import Foundation
import Config
import Keys

/// A subnet's neurons as `bittensor.Metagraph(netuid, lite=True)` sees them at one block, in the
/// file format the admission blacklist reads (`MetagraphSnapshot`), with more per neuron.
public struct ChainMetagraph: Codable, Sendable, Equatable {
    public struct Neuron: Codable, Sendable, Equatable {
        public var uid: Int
        public var hotkey: String
        public var coldkey: String
        /// `metagraph.S[uid]` in TAO: the subnet's total stake (alpha + weighted TAO).
        public var stake: Double
        public var stakeRao: UInt64
        public var validatorPermit: Bool
        public var active: Bool
        /// bittensor's `str(netaddr.IPAddress(ip))`: "0.0.0.0" when never served.
        public var ip: String
        public var port: Int
        public var ipType: Int
        public var lastUpdate: Int
        // Optional so snapshot files written before they were added still read.
        /// u16 fractions over 65535, as bittensor's NeuronInfoLite makes them.
        public var rank: Double?
        public var trust: Double?
        public var incentive: Double?
        /// Per epoch (tempo + 1 blocks), rao / 1e9: `metagraph.E[uid]`.
        public var emission: Double?
        /// `metagraph.block_at_registration[uid]`, from the mechagraph.
        public var blockAtRegistration: Int?

        enum CodingKeys: String, CodingKey {
            case uid, hotkey, coldkey, stake, active, ip, port, rank, trust, incentive, emission
            case stakeRao = "stake_rao", validatorPermit = "validator_permit", ipType = "ip_type", lastUpdate = "last_update"
            case blockAtRegistration = "block_at_registration"
        }
    }

    public var netuid: Int
    public var network: String
    public var block: Int
    public var blockHash: String
    public var tempo: Int
    /// Blocks after registration during which a neuron cannot be pruned (`hparams.immunity_period`).
    public var immunityPeriod: Int?
    public var neurons: [Neuron]

    enum CodingKeys: String, CodingKey {
        case netuid, network, block, tempo, neurons
        case blockHash = "block_hash", immunityPeriod = "immunity_period"
    }

    /// Blocks of immunity a neuron has left at this snapshot's block, 0 once over.
    public func immunityLeft(_ neuron: Neuron) -> Int? {
        guard let registered = neuron.blockAtRegistration, let period = immunityPeriod else { return nil }
        // The numbers are a chain node's: no sum of them may trap.
        let (end, overflow) = registered.addingReportingOverflow(period)
        let (left, under) = end.subtractingReportingOverflow(block)
        return overflow || under ? nil : max(0, left)
    }

    /// Writes the file whole or not at all (a temporary file renamed over it), so a worker
    /// reading it never sees half a snapshot.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    public static func read(from path: String) throws -> ChainMetagraph {
        try JSONDecoder().decode(ChainMetagraph.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Fetches a metagraph with the runtime-API calls bittensor 10.5.0 makes:
/// `get_neurons_lite` (neurons), `get_subnet_state` (stakes) and `get_selective_mechagraph`
/// (tempo), all at the best block and decoded by the runtime's own metadata types.
public struct MetagraphFetcher: Sendable {
    public let node: SubtensorNode
    public let network: String

    public init(node: SubtensorNode, network: String) {
        self.node = node
        self.network = network
    }

    /// bittensor's `SelectiveMetagraphIndex`: all 74 fields, as it asks for them.
    static let mechagraphFields = 74

    public func fetch(netuid: UInt16) async throws -> ChainMetagraph {
        let block = try await node.bestBlock()
        let metadata = try await node.metadata(at: block.hash)
        var netuidBytes = ScaleWriter()
        netuidBytes.u16(netuid)

        let neuronsValue = try await node.runtimeAPI("NeuronInfoRuntimeApi_get_neurons_lite", netuidBytes.bytes, metadata: metadata, at: block.hash)
        guard let neurons = neuronsValue.items else { throw ChainFailure("get_neurons_lite did not return a list") }
        if neurons.isEmpty { throw ChainFailure("subnet \(netuid) has no neurons at block \(block.number) (does it exist?)") }

        let stateValue = try await node.runtimeAPI("SubnetInfoRuntimeApi_get_subnet_state", netuidBytes.bytes, metadata: metadata, at: block.hash)
        guard case .some(let state?) = stateValue.optionValue, let totalStake = state["total_stake"]?.items else {
            throw ChainFailure("get_subnet_state has no state for subnet \(netuid)")
        }

        var selection = netuidBytes
        selection.u8(0)  // mechanism 0, the subnet's main one
        selection.vector(Array(0..<Self.mechagraphFields)) { $0.u16(UInt16($1)) }
        let mechagraph = try await node.runtimeAPI("SubnetInfoRuntimeApi_get_selective_mechagraph", selection.bytes, metadata: metadata, at: block.hash)
        guard case .some(let info?) = mechagraph.optionValue, case .some(let tempoValue?) = info["tempo"]?.optionValue,
              let tempo = tempoValue.int else {
            throw ChainFailure("get_selective_mechagraph has no tempo for subnet \(netuid)")
        }

        return ChainMetagraph(
            netuid: Int(netuid), network: network, block: block.number, blockHash: ChainHex.encode(block.hash), tempo: tempo,
            immunityPeriod: info["immunity_period"]?.optionValue??.int,
            neurons: Self.registered(try neurons.map { try Self.neuron($0, totalStake: totalStake) }, mechagraph: info)
        )
    }

    /// Each neuron's registration block, from the mechagraph's `block_at_registration` (by uid).
    /// Every SelectiveMetagraph field is an Option: a runtime without it leaves the field nil.
    static func registered(_ neurons: [ChainMetagraph.Neuron], mechagraph info: ScaleValue) -> [ChainMetagraph.Neuron] {
        guard let blocks = info["block_at_registration"]?.optionValue??.items else { return neurons }
        return neurons.map { neuron in
            var neuron = neuron
            neuron.blockAtRegistration = neuron.uid < blocks.count ? blocks[neuron.uid].int : nil
            return neuron
        }
    }

    public static func neuron(_ value: ScaleValue, totalStake: [ScaleValue]) throws -> ChainMetagraph.Neuron {
        guard let uid = value["uid"]?.int, let hotkey = value["hotkey"]?.byteArray, let coldkey = value["coldkey"]?.byteArray,
              let axon = value["axon_info"], let ip = axon["ip"]?.unsigned, let port = axon["port"]?.int,
              let ipType = axon["ip_type"]?.int, let permit = value["validator_permit"]?.boolValue,
              let active = value["active"]?.boolValue, let lastUpdate = value["last_update"]?.int else {
            throw ChainFailure("a neuron of get_neurons_lite lacks a field this client reads: \(value)")
        }
        let rao = uid < totalStake.count ? UInt64(clamping: totalStake[uid].unsigned ?? 0) : 0
        func fraction(_ name: String) -> Double? { value[name]?.unsigned.map { Double($0) / 65535 } }
        return ChainMetagraph.Neuron(
            uid: uid, hotkey: SS58.encode(accountID: hotkey), coldkey: SS58.encode(accountID: coldkey),
            stake: Double(rao) / 1e9, stakeRao: rao, validatorPermit: permit, active: active,
            ip: IPAddressText.format(ip), port: port, ipType: ipType, lastUpdate: lastUpdate,
            rank: fraction("rank"), trust: fraction("trust"), incentive: fraction("incentive"),
            emission: value["emission"]?.unsigned.map { Double($0) / 1e9 }
        )
    }
}
