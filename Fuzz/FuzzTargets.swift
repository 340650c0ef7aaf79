import Admission
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
        "matrix": matrix, "sse": sse, "http": http, "chain": chain, "request": request,
    ]

    /// A miner whose admission the `request` target drives (no metagraph: every signature counts).
    static let requestMiner = MinerConfig(
        name: "fuzz", hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", port: 1, backend: .mock(MockBackendConfig())
    )
    static let requestAdmission = try! Admission(ownHotkey: requestMiner.hotkey, config: requestMiner.admission, maxRequestsPerMinute: 60)

    /// The request path from outside in, as the responder walks it, with the clock taken from
    /// the input: a wall-clock `now` (8 bytes), header lines, a blank line, the body. Headers,
    /// blacklist, nonce and signature against a live nonce table, the request budget and its
    /// deadline, a stream slot, the body and its budget. Every number from outside meets the
    /// arithmetic it would meet in a worker; a trap is a finding.
    static func request(_ bytes: [UInt8]) {
        guard bytes.count >= 8 else { return }
        let now = bytes[0..<8].withUnsafeBytes { Double(bitPattern: $0.loadUnaligned(as: UInt64.self)) }
        let rest = Array(bytes[8...])
        let split = rest.firstRange(of: Array("\n\n".utf8))
        let headText = String(decoding: split.map { rest[..<$0.lowerBound] } ?? rest[...], as: UTF8.self)
        let body = split.map { Array(rest[$0.upperBound...]) } ?? []
        var fields: [String: String] = [:]
        for line in headText.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let miner = requestMiner
        let start = ContinuousClock.now
        guard let headers = try? SynapseHeaders.parse({ fields[$0.lowercased()] }),
              let stake = try? requestAdmission.authenticate(headers, now: now),
              let budget = try? RequestBudget(requested: headers.timeout, policy: miner.timeout, limit: miner.maxRequestTimeout)
        else { return }
        let deadline = budget.deadline(from: start)
        // A slot is free (nothing else runs here): entering must not wait; then give it back.
        let entered = DispatchSemaphore(value: 0)
        Task {
            if let ticket = try? await requestAdmission.enter(headers, stake: stake, deadline: deadline, now: now) { await ticket.release() }
            entered.signal()
        }
        entered.wait()
        guard let synapse = try? SynapseRequest.decode(body) else { return }
        if let bodyBudget = try? RequestBudget(requested: synapse.timeout, policy: miner.timeout, limit: miner.maxRequestTimeout) {
            _ = bodyBudget.deadline(from: start)
        }
        _ = synapse.bodyHash == headers.computedBodyHash
    }

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
