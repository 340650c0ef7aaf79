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

    public init(network: String, netuid: Int, path: String, miner: String, caFile: String? = nil) {
        self.caFile = caFile
        self.network = network
        self.netuid = netuid
        self.path = path
        self.miner = miner
    }

    /// One target per file, from the miners whose `chain.refresh` is `tempo`.
    public static func all(_ config: MinersConfig) -> [MetagraphTarget] {
        var seen = Set<String>()
        return config.miners.compactMap { miner in
            guard let chain = miner.chain, chain.refresh == .tempo, let path = miner.admission.metagraph,
                  seen.insert(path).inserted else { return nil }
            return MetagraphTarget(network: chain.network, netuid: chain.netuid, path: path, miner: miner.name, caFile: chain.caFile)
        }
    }

    /// Fetches and writes the snapshot (outcome `written`); on failure the file is left as it was.
    public func refresh(connectTimeout: Duration = .seconds(30)) async -> ChainEventRecord {
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
            return record("written", block: metagraph.block,
                "\(metagraph.neurons.count) neurons, \(permits) validator permits, tempo \(metagraph.tempo)")
        } catch {
            let kept = FileManager.default.fileExists(atPath: path) ? "the last good file is kept" : "there is no snapshot file yet"
            return record("failed", "\(error); \(kept)")
        }
    }
}
