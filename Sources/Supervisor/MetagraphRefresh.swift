import Chain
import Config
import Foundation
import LogStore

/// One snapshot file the supervisor keeps fresh: a subnet's metagraph, written atomically
/// where the miners' `blacklist.metagraph` reads it.
public struct MetagraphTarget: Sendable, Hashable {
    public var network: String
    public var netuid: Int
    public var path: String
    /// The first miner that reads it, for the log.
    public var miner: String
    public var caFile: String?
    /// The configured hotkeys on this subnet, by miner, whose standing each refresh records; on
    /// one target per network and subnet, so two files of a subnet do not record it twice.
    public var hotkeys: [String: String]

    public init(network: String, netuid: Int, path: String, miner: String, caFile: String? = nil, hotkeys: [String: String] = [:]) {
        self.caFile = caFile
        self.hotkeys = hotkeys
        self.network = network
        self.netuid = netuid
        self.path = path
        self.miner = miner
    }

    /// One target per file, from the miners whose `chain.refresh` is `tempo`.
    public static func all(_ config: MinersConfig) -> [MetagraphTarget] {
        var seen = Set<String>()
        var subnets = Set<String>()
        return config.miners.compactMap { miner in
            guard let chain = miner.chain, chain.refresh == .tempo, let path = miner.admission.metagraph,
                  seen.insert(path).inserted else { return nil }
            var target = MetagraphTarget(network: chain.network, netuid: chain.netuid, path: path, miner: miner.name, caFile: chain.caFile)
            if subnets.insert("\(chain.netuid) \(chain.network)").inserted {
                let onSubnet = config.miners.filter { $0.chain?.network == chain.network && $0.chain?.netuid == chain.netuid }
                target.hotkeys = Dictionary(onSubnet.map { ($0.name, $0.hotkey) }, uniquingKeysWith: { first, _ in first })
            }
            return target
        }
    }

    /// Fetches and writes the snapshot (outcome `written`); on failure the file is left as it was.
    public func refresh(connectTimeout: Duration = .seconds(30)) async -> ChainEventRecord {
        await update(connectTimeout: connectTimeout).event
    }

    /// As `refresh`, and the standing of each of `hotkeys` in the new snapshot: none after a
    /// failure, since a bad read says nothing about registration.
    public func update(connectTimeout: Duration = .seconds(30)) async -> (event: ChainEventRecord, standing: [StandingRecord]) {
        func record(_ outcome: String, block: Int? = nil, _ detail: String) -> ChainEventRecord {
            ChainEventRecord(at: Date().timeIntervalSince1970, kind: .metagraph, miner: miner, network: network, netuid: netuid,
                             outcome: outcome, block: block, path: path, detail: detail)
        }
        do {
            let node = try await SubtensorNode.connect(network: network, caFile: caFile, timeout: connectTimeout)
            defer { Task { await node.rpc.close() } }
            let metagraph = try await MetagraphFetcher(node: node, network: network).fetch(netuid: UInt16(netuid))
            try metagraph.write(to: path)
            let permits = metagraph.neurons.filter(\.validatorPermit).count
            let now = Date().timeIntervalSince1970
            let standing = hotkeys.sorted { $0.key < $1.key }.map { StandingRecord(metagraph: metagraph, miner: $0.key, hotkey: $0.value, at: now) }
            return (record("written", block: metagraph.block,
                "\(metagraph.neurons.count) neurons, \(permits) validator permits, tempo \(metagraph.tempo)"), standing)
        } catch {
            let kept = FileManager.default.fileExists(atPath: path) ? "the last good file is kept" : "there is no snapshot file yet"
            return (record("failed", "\(error); \(kept)"), [])
        }
    }
}
