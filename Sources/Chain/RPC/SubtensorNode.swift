import Config
import Keys

/// The node queries this client makes, typed: heads, runtime version and metadata, storage,
/// runtime-API calls, account nonces.
public struct SubtensorNode: Sendable {
    public let rpc: ChainRPCClient

    public init(rpc: ChainRPCClient) { self.rpc = rpc }

    public static func connect(network: String, caFile: String? = nil, timeout: Duration = .seconds(30)) async throws -> SubtensorNode {
        guard let url = ChainNetwork.url(network) else { throw ChainFailure("unknown network '\(network)': expected \(ChainNetwork.expected)") }
        return SubtensorNode(rpc: try await ChainRPCClient.connect(url: url, caFile: caFile, timeout: timeout))
    }

    public struct Block: Sendable, Equatable {
        public var number: Int
        public var hash: [UInt8]
    }

    public struct RuntimeVersion: Sendable, Equatable {
        public var specName: String
        public var specVersion: UInt32
        public var transactionVersion: UInt32
    }

    /// The best block, as bittensor finds it: the head's number, then that number's hash.
    public func bestBlock() async throws -> Block {
        let number = try headerNumber(try await rpc.call("chain_getHeader", [.null]))
        return Block(number: number, hash: try await blockHash(number))
    }

    /// The last finalized block: mortal transactions are born there.
    public func finalizedBlock() async throws -> Block {
        let hash = try await rpc.call("chain_getFinalizedHead")
        guard let bytes = hash.hexBytes else { throw ChainFailure("chain_getFinalizedHead answered \(hash)") }
        let number = try headerNumber(try await rpc.call("chain_getHeader", [hash]))
        return Block(number: number, hash: bytes)
    }

    private func headerNumber(_ header: RPCValue) throws -> Int {
        guard let number = header["number"]?.int else { throw ChainFailure("the node sent a header without a block number: \(header)") }
        return number
    }

    public func blockHash(_ number: Int) async throws -> [UInt8] {
        let answer = try await rpc.call("chain_getBlockHash", [.int(Int64(number))])
        guard let hash = answer.hexBytes, hash.count == 32 else { throw ChainFailure("the node has no hash for block \(number) (\(answer))") }
        return hash
    }

    public func runtimeVersion(at block: [UInt8]? = nil) async throws -> RuntimeVersion {
        let answer = try await rpc.call("state_getRuntimeVersion", block.map { [.string(ChainHex.encode($0))] } ?? [])
        guard let name = answer["specName"]?.string, let spec = answer["specVersion"]?.int.flatMap(UInt32.init(exactly:)),
              let transaction = answer["transactionVersion"]?.int.flatMap(UInt32.init(exactly:)) else {
            throw ChainFailure("state_getRuntimeVersion answered without specName, specVersion and transactionVersion")
        }
        return RuntimeVersion(specName: name, specVersion: spec, transactionVersion: transaction)
    }

    /// Metadata v15 through the runtime API, as bittensor fetches it.
    public func metadata(at block: [UInt8]? = nil) async throws -> RuntimeMetadata {
        try RuntimeMetadata(stateCallResult: try await stateCall("Metadata_metadata_at_version", [15, 0, 0, 0], at: block))
    }

    public func stateCall(_ method: String, _ input: [UInt8], at block: [UInt8]? = nil) async throws -> [UInt8] {
        var params: [RPCValue] = [.string(method), .string(ChainHex.encode(input))]
        if let block { params.append(.string(ChainHex.encode(block))) }
        let answer = try await rpc.call("state_call", params)
        guard let bytes = answer.hexBytes else { throw ChainFailure("state_call \(method) answered \(answer)") }
        return bytes
    }

    /// A runtime-API call whose output is decoded by the metadata's type for it.
    public func runtimeAPI(_ method: String, _ input: [UInt8], metadata: RuntimeMetadata, at block: [UInt8]?) async throws -> ScaleValue {
        let signature = try metadata.apiMethod(method)
        let bytes = try await stateCall(method, input, at: block)
        return try ScaleValueDecoder(registry: metadata.registry).decode(signature.output, from: bytes)
    }

    /// A storage value's bytes; nil when the key holds nothing.
    public func storage(_ key: [UInt8], at block: [UInt8]? = nil) async throws -> [UInt8]? {
        var params: [RPCValue] = [.string(ChainHex.encode(key))]
        if let block { params.append(.string(ChainHex.encode(block))) }
        let answer = try await rpc.call("state_getStorage", params)
        if answer.isNull { return nil }
        guard let bytes = answer.hexBytes else { throw ChainFailure("state_getStorage answered \(answer)") }
        return bytes
    }

    public func accountNextIndex(_ address: String) async throws -> UInt32 {
        let answer = try await rpc.call("account_nextIndex", [.string(address)])
        guard let nonce = answer.int.flatMap(UInt32.init(exactly:)) else { throw ChainFailure("account_nextIndex answered \(answer)") }
        return nonce
    }
}

public enum ChainHex {
    public static func encode(_ bytes: [UInt8]) -> String { "0x" + Hex.encode(bytes) }
}
