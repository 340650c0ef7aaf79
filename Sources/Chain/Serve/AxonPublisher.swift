import Keys

/// Publishes a miner's axon the way `axon.serve(netuid, subtensor)` does, but only when the
/// chain's record differs: read `Axons(netuid, hotkey)`, compare, and if needed sign
/// `serve_axon` with the hotkey (mortal, 128 blocks, no tip) and watch it into a block.
public struct AxonPublisher: Sendable {
    public struct Target: Sendable {
        public var hotkey: Sr25519.PublicKey
        public var call: ServeAxonCall

        public init(hotkey: Sr25519.PublicKey, call: ServeAxonCall) {
            self.hotkey = hotkey
            self.call = call
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// The chain already has this axon: nothing sent.
        case alreadyServed(AxonInfo)
        /// `--dry-run`: what is on chain and the call that would be signed.
        case wouldServe(current: AxonInfo?, call: [UInt8])
        case served(block: Int, extrinsicHash: [UInt8])
        /// Chain error 12: try again at `retryAt` (a block number), not before.
        case rateLimited(retryAt: Int, currentBlock: Int)
        case failed(String)

        /// The outcome's name in the log and in `miners status`.
        public var name: String {
            switch self {
            case .alreadyServed: "already_served"
            case .wouldServe: "dry_run"
            case .served: "served"
            case .rateLimited: "rate_limited"
            case .failed: "failed"
            }
        }
    }

    /// Seconds per block on subtensor, for turning a block wait into a delay.
    public static let blockSeconds = 12.0
    /// bittensor's `DEFAULT_PERIOD`.
    public static let period = 128
    /// Subtensor's default `ServingRateLimit` when the subnet sets none.
    public static let defaultServingRateLimit = 50

    public let node: SubtensorNode
    public var inclusionTimeout: Duration = .seconds(120)

    public init(node: SubtensorNode) { self.node = node }

    /// Compares, and unless `dryRun`, sends. `keypair` is asked for only when a transaction
    /// must be signed, so the secret is not read for nothing.
    public func publish(_ target: Target, dryRun: Bool, keypair: () throws -> Sr25519.Keypair) async throws -> Outcome {
        let netuid = target.call.netuid
        let version = try await node.runtimeVersion()
        let metadata = try await node.metadata()
        let call = try target.call.encoded(metadata: metadata)
        let current = try await axon(netuid: netuid, hotkey: target.hotkey.bytes)
        if let current, current.matches(target.call.axon) { return .alreadyServed(current) }

        let finalized = try await node.finalizedBlock()
        let era = Era.mortal(period: Self.period, current: finalized.number)
        let birthHash = era.birth == finalized.number ? finalized.hash : try await node.blockHash(era.birth ?? 0)
        let address = SS58.encode(target.hotkey)
        let context = SignedExtrinsic.Context(
            specVersion: version.specVersion, transactionVersion: version.transactionVersion,
            genesisHash: try await node.blockHash(0), era: era, birthHash: birthHash,
            nonce: try await node.accountNextIndex(address)
        )
        // Built before a dry run returns too, so the runtime guards speak in both.
        let unsigned = try SignedExtrinsic(call: call, context: context, metadata: metadata)
        if dryRun { return .wouldServe(current: current, call: call) }

        let signer = try keypair()
        guard signer.publicKey == target.hotkey else {
            throw ChainFailure("the wallet's hotkey is \(SS58.encode(signer.publicKey)), not the miner's \(address)")
        }
        let extrinsic = unsigned.signed(by: signer)
        return try await submit(extrinsic, target: target)
    }

    /// The axon the chain has for the hotkey, nil when it never served on this subnet.
    public func axon(netuid: UInt16, hotkey: [UInt8], at block: [UInt8]? = nil) async throws -> AxonInfo? {
        try await node.storage(StorageKey.axons(netuid: netuid, hotkey: hotkey), at: block).map { try AxonInfo(scale: $0) }
    }

    private func submit(_ extrinsic: [UInt8], target: Target) async throws -> Outcome {
        let netuid = target.call.netuid
        let subscription: (id: String, updates: AsyncThrowingStream<RPCValue, any Error>)
        do {
            subscription = try await node.rpc.subscribe("author_submitAndWatchExtrinsic", [.string(ChainHex.encode(extrinsic))])
        } catch let refusal as ChainRPCClient.Failure where refusal.code != nil {
            if ServeError.customCode(refusal.data) == ServeError.rateLimited { return try await rateLimited(netuid: netuid, hotkey: target.hotkey.bytes) }
            return .failed(ServeError.describe(code: refusal.code, data: refusal.data, netuid: Int(netuid)))
        }
        defer { Task { [rpc = node.rpc] in _ = try? await rpc.call("author_unwatchExtrinsic", [.string(subscription.id)]); await rpc.endSubscription(subscription.id) } }

        let timeout = inclusionTimeout
        let inclusion: RPCValue? = try await withThrowingTaskGroup(of: RPCValue?.self) { group in
            group.addTask {
                for try await update in subscription.updates {
                    if update["inBlock"] != nil || update["finalized"] != nil { return update }
                    if let status = update.string, ["ready", "future"].contains(status) { continue }
                    if update["broadcast"] != nil { continue }
                    return update  // dropped, invalid, usurped, retracted, finalityTimeout
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let inclusion else {
            return .failed("not included in a block within \(timeout); the transaction may still land (check with --dry-run)")
        }
        guard let blockHash = (inclusion["inBlock"] ?? inclusion["finalized"])?.hexBytes else {
            return .failed("the node reports the transaction as \(inclusion.string ?? "\(inclusion)")")
        }
        // Read the axon back at the inclusion block: a dispatch-time refusal leaves it as it was.
        let stored = try await axon(netuid: netuid, hotkey: target.hotkey.bytes, at: blockHash)
        let number = try await node.rpc.call("chain_getHeader", [.string(ChainHex.encode(blockHash))])["number"]?.int ?? 0
        guard let stored, stored.matches(target.call.axon) else {
            return .failed("included in block \(number), but the axon on chain did not change: the chain refused the call when it ran")
        }
        return .served(block: number, extrinsicHash: SignedExtrinsic.hash(extrinsic))
    }

    /// When a rate-limited hotkey may serve again: its last serve block plus the subnet's
    /// `ServingRateLimit`.
    private func rateLimited(netuid: UInt16, hotkey: [UInt8]) async throws -> Outcome {
        let best = try await node.bestBlock()
        let limit = try await node.storage(StorageKey.servingRateLimit(netuid: netuid)).map { bytes throws in
            var reader = ScaleReader(bytes)
            return Int(clamping: try reader.u64())
        } ?? Self.defaultServingRateLimit
        let last = Int(clamping: try await axon(netuid: netuid, hotkey: hotkey)?.block ?? UInt64(best.number))
        return .rateLimited(retryAt: max(last + limit, best.number + 1), currentBlock: best.number)
    }
}
