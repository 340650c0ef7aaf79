import Chain
import Config
import EventStream
import Foundation
import Keys
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Wire

/// Every parser that reads input from outside — a validator's request, a config file, a
/// backend's event stream — fed arbitrary bytes. A target returns normally or throws the
/// parser's own error; anything else (a crash, a trap, a sanitizer report) is a finding.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "synapse": synapse, "headers": headers, "ss58": ss58, "signature": signature, "config": config,
        "matrix": matrix, "sse": sse, "http": http, "chain": chain,
    ]

    /// Raw bytes as a connection delivers them, through NIO's HTTP/1 server pipeline with the
    /// worker's header limits; each request head's fields through the synapse header parser.
    static func http(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 16 * 1024
        limits.maxHeaderListSize = 16 * 1024
        limits.maxHeaderFieldCount = 200
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withServerUpgrade: nil, withErrorHandling: true, withOutboundHeaderValidation: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {}
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part {
                _ = try? SynapseHeaders.parse { head.headers.first(name: $0) }
            }
        }
        _ = try? channel.finish()
    }

    /// The request body: JSON (with Python's lone surrogates), the synapse fields, the body hash.
    static func synapse(_ bytes: [UInt8]) {
        guard let request = try? SynapseRequest.decode(bytes) else { return }
        _ = request.bodyHash
    }

    /// Header lines `name: value`, then the synapse's headers parsed from them.
    static func headers(_ bytes: [UInt8]) {
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        _ = try? SynapseHeaders.parse { fields[$0.lowercased()] }
    }

    static func ss58(_ bytes: [UInt8]) {
        _ = try? SS58.decode(String(decoding: bytes, as: UTF8.self))
    }

    /// A signature (hex, as in `bt_header_dendrite_signature`) over the rest of the input, checked
    /// against a fixed key, as the worker checks every request.
    static let key = Sr25519.Keypair(miniSecret: [UInt8](repeating: 7, count: 32)).publicKey
    static func signature(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1)
        guard let first = parts.first, let signature = Hex.decode(String(first)) else { return }
        _ = Sr25519.verifyAsBittensor(signature: signature, message: Array((parts.last ?? "").utf8), publicKey: key)
        if signature.count == 32 { _ = Sr25519.PublicKey(bytes: signature) }
    }

    static func config(_ bytes: [UInt8]) {
        _ = try? MinersConfig.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
    }

    static func matrix(_ bytes: [UInt8]) {
        _ = try? MatrixConfig.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
    }

    /// The event stream, fed in pieces split where the first byte says: the same events must
    /// come out however the network cuts the stream.
    static func sse(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let input = Array(bytes.dropFirst())
        var whole = SSEParser()
        let expected = whole.feed(input)
        var pieces = SSEParser()
        var events: [String] = []
        let step = Int(first % 7) + 1
        var index = 0
        while index < input.count {
            events += pieces.feed(input[index..<min(index + step, input.count)])
            index += step
        }
        precondition(events == expected, "an event stream split in pieces gave other events")
    }

    /// What a chain node sends: runtime-API answers decoded by the spec-343 metadata's types
    /// (the first byte picks neurons, subnet state or mechagraph), metadata itself, a stored
    /// AxonInfo, and JSON-RPC messages.
    static let metadata: RuntimeMetadata? = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/chain/metadata-v15-spec343.hex.txt")
        guard let text = try? String(contentsOf: file, encoding: .utf8), let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return try? RuntimeMetadata(stateCallResult: bytes)
    }()
    static let apiOutputs = [
        "NeuronInfoRuntimeApi_get_neurons_lite", "SubnetInfoRuntimeApi_get_subnet_state", "SubnetInfoRuntimeApi_get_selective_mechagraph",
    ].compactMap { try? metadata?.apiMethod($0).output }

    static func chain(_ bytes: [UInt8]) {
        guard let first = bytes.first, let metadata else { return }
        let input = Array(bytes.dropFirst())
        switch first % 6 {
        case 0, 1, 2:
            let type = apiOutputs[Int(first % 6) % apiOutputs.count]
            guard let value = try? ScaleValueDecoder(registry: metadata.registry).decode(type, from: input) else { return }
            if let neurons = value.items {
                for neuron in neurons { _ = try? MetagraphFetcher.neuron(neuron, totalStake: []) }
            }
        case 3: _ = try? RuntimeMetadata(prefixed: input)
        case 4: _ = try? AxonInfo(scale: input)
        default:
            guard let message = try? JSONDecoder().decode(RPCValue.self, from: Data(input)) else { return }
            _ = message["result"]?.hexBytes
            _ = message["params"]?["result"]?.int
        }
    }
}
