import Chain
import Config
import Foundation
import Keys
import LogStore

/// One miner's serve step, shared by `miners chain serve` and the supervisor: compare the
/// axon on chain with the config's `external_ip`/`external_port` and send `serve_axon` only
/// when they differ. The hotkey's secret is read here, only when a transaction is signed,
/// and never logged.
public enum MinerServe {
    public struct Result: Sendable {
        public var outcome: AxonPublisher.Outcome?
        public var record: ChainEventRecord
        /// What happened, for the operator.
        public var message: String { record.detail ?? record.outcome }
    }

    public static func target(_ miner: MinerConfig) throws -> AxonPublisher.Target {
        guard let external = miner.externalAxon, let chain = miner.chain else {
            throw ChainFailure("miner '\(miner.name)' has no external_ip and chain: nothing to publish")
        }
        guard let ip = IPAddressText.parse(external.ip) else { throw ChainFailure("external_ip '\(external.ip)' is not an IP address") }
        let hotkey = try SS58.decode(miner.hotkey)
        return AxonPublisher.Target(
            hotkey: hotkey, call: ServeAxonCall(netuid: UInt16(chain.netuid), ip: ip.value, ipType: ip.type, port: UInt16(external.port))
        )
    }

    /// Returns once the chain's best block reaches `block` (or the task is cancelled), checking
    /// every `poll` seconds over a fresh connection, so a node that drops meanwhile is tried again.
    public static func waitForBlock(_ block: Int, chain: ChainConfig?, poll: Double) async {
        guard let chain else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(poll))
            guard let node = try? await SubtensorNode.connect(network: chain.network, caFile: chain.caFile) else { continue }
            let best = try? await node.bestBlock()
            await node.rpc.close()
            if let best, best.number >= block { return }
        }
    }

    public static func run(
        _ miner: MinerConfig, dryRun: Bool, inclusionTimeout: Duration = .seconds(120), connectTimeout: Duration = .seconds(30)
    ) async -> Result {
        let network = miner.chain?.network ?? "-"
        let netuid = miner.chain?.netuid ?? 0
        func result(_ outcome: AxonPublisher.Outcome?, _ name: String, block: Int? = nil, _ detail: String) -> Result {
            Result(outcome: outcome, record: ChainEventRecord(
                at: Date().timeIntervalSince1970, kind: .serve, miner: miner.name, network: network, netuid: netuid,
                outcome: name, block: block, detail: detail
            ))
        }
        var node: SubtensorNode?
        defer { if let node { Task { await node.rpc.close() } } }
        do {
            let target = try target(miner)
            let connected = try await SubtensorNode.connect(network: network, caFile: miner.chain?.caFile, timeout: connectTimeout)
            node = connected
            var publisher = AxonPublisher(node: connected)
            publisher.inclusionTimeout = inclusionTimeout
            let outcome = try await publisher.publish(target, dryRun: dryRun) {
                guard let wallet = miner.wallet else { throw ChainFailure("miner '\(miner.name)' has no wallet: to sign") }
                return try WalletSecret.keypair(wallets: wallet.path, name: wallet.name, hotkey: wallet.hotkey)
            }
            let wanted = "\(target.call.axon.address) (version \(target.call.axon.version))"
            switch outcome {
            case .alreadyServed(let current):
                return result(outcome, outcome.name, block: Int(clamping: current.block), "already served: the chain has \(current); nothing sent")
            case .wouldServe(let current, let call):
                return result(outcome, outcome.name, "would serve \(wanted) on subnet \(netuid); on chain: \(current.map { "\($0)" } ?? "no axon"); call \(ChainHex.encode(call))")
            case .served(let block, let hash):
                return result(outcome, outcome.name, block: block, "served \(wanted) on subnet \(netuid) in block \(block) (extrinsic \(ChainHex.encode(hash)))")
            case .rateLimited(let retryAt, let current):
                let wait = Double(retryAt - current) * AxonPublisher.blockSeconds
                return result(outcome, outcome.name, block: current, "served too recently (chain error 12): retrying at block \(retryAt), in about \(Int(wait.rounded())) s")
            case .failed(let reason):
                return result(outcome, outcome.name, reason)
            }
        } catch {
            return result(nil, "failed", "\(error)")
        }
    }
}
