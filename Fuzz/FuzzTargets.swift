import Admission
import Backends
import Chain
import HTTPTypes
import LogStore
import Logging
import Server
import Supervisor
import Synchronization
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
        "matrix": matrix, "sse": sse, "http": http, "chain": chain, "request": request, "answer": answer,
        "chat": chat, "chunk": chunk, "metrics": metrics,
    ]

    /// One event of an OpenAI-compatible stream, as any model server (or a stranger in its
    /// place) may send it: decoded or refused with a backend error, never a trap.
    static func chat(_ bytes: [UInt8]) {
        _ = try? ChatCompletionStream.decode(String(decoding: bytes, as: UTF8.self))
    }

    /// The same event through `ChatChunkScanner` and through Foundation: wherever the scanner
    /// answers, its chunk is Foundation's; bytes that are not UTF-8 it never reads.
    static func chunk(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let scanned = ChatChunkScanner.scan(text)
        if let scanned {
            let reference = try? ChatCompletionStream.decodeWithFoundation(text)
            precondition(reference.map(scanned.isIdentical) == true, "the scanner read \(scanned), Foundation \(String(describing: reference))")
        }
        let fromBytes = bytes.withUnsafeBufferPointer { ChatChunkScanner.scan(utf8: $0) }
        precondition(fromBytes == (String(validating: bytes, as: UTF8.self) == nil ? nil : scanned), "bytes read otherwise than their text")
    }

    /// A model server's Prometheus `/metrics`, read by `miners status`.
    static func metrics(_ bytes: [UInt8]) {
        let load = ServerLoad(metrics: bytes)
        for value in [load.running, load.waiting, load.kvCacheUsage] {
            if let value { precondition(value.isFinite, "a non-finite figure from /metrics") }
        }
    }

    /// The mock backend's answer to a last message (form-encoded or not): it reads the
    /// arithmetic of any text anyone sends, so it must stay short, well-formed and trap-free.
    static func answer(_ bytes: [UInt8]) {
        let answer = MockBackend.answer(to: Question(message: String(decoding: bytes, as: UTF8.self)))
        let final = answer.split(separator: "So the final answer is: ").last ?? ""
        precondition(answer.utf8.count < 200 && !final.isEmpty && !final.contains(" "), "malformed answer: \(answer)")
        if verbose { print(answer) }
    }

    /// The miner the `request` target serves: a mock answer, no metagraph (every valid
    /// signature is served), its log in a scratch database whose queue is never written (it
    /// drops beyond its bound).
    static let requestMiner: MinerConfig = {
        var miner = MinerConfig(
            name: "fuzz", hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", port: 1,
            streamingBatchSize: 3, backend: .mock(MockBackendConfig(text: "one two three four five six seven"))
        )
        miner.maxBodyBytes = 64 * 1024
        miner.limits.maxRequestsPerMinute = 600
        return miner
    }()
    static let requestClock = Mutex(0.0)
    static let requestPath: InProcessRequests = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("miners-fuzz-\(getpid()).sqlite").path
        let database = try! LogDatabase.open(path: path)
        try! Migrations.migrate(database)
        var worker = Worker(miner: requestMiner, databasePath: path, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        worker.wallClock = { requestClock.withLock { $0 } }
        return try! InProcessRequests(worker: worker, log: LogWriter(database: database, logger: worker.logger, maxPending: 1000))
    }()
    /// `MINERS_FUZZ_VERBOSE=1`: the replay prints each answer's status (to check the seeds).
    static let verbose = ProcessInfo.processInfo.environment["MINERS_FUZZ_VERBOSE"] == "1"
    static let requestSigner = Sr25519.Keypair(miniSecret: [UInt8](repeating: 0xD0, count: 32))

    /// The whole request path, in process: a flag byte (bit 0: sign the request as a validator
    /// would, over whatever nonce, uuid and body hash the input gives, so the fuzzer reaches
    /// the budget, the capacity gate, the body and the stream; bit 1: send the body's true hash),
    /// the wall clock (8 bytes, a Double), header lines (`:method:` and `:path:` override POST
    /// /StreameinsteinSynapse), a blank line, the body. Every number from outside meets the
    /// arithmetic it meets in a worker; a trap, or an answer that is not a status a worker
    /// sends, is a finding.
    static func request(_ bytes: [UInt8]) {
        guard bytes.count >= 9 else { return }
        let flags = bytes[0]
        let now = bytes[1..<9].withUnsafeBytes { Double(bitPattern: $0.loadUnaligned(as: UInt64.self)) }
        let rest = Array(bytes[9...])
        let split = rest.firstRange(of: Array("\n\n".utf8))
        let headText = String(decoding: split.map { rest[..<$0.lowerBound] } ?? rest[...], as: UTF8.self)
        let body = split.map { Array(rest[$0.upperBound...]) } ?? []
        var method = HTTPRequest.Method.post
        var path = "/StreameinsteinSynapse"
        var fields: [(String, String)] = []
        for line in headText.split(whereSeparator: \.isNewline) {
            guard let colon = line.dropFirst().firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).lowercased(), value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case ":method": method = HTTPRequest.Method(value) ?? .post
            case ":path": path = value.hasPrefix("/") ? value : "/" + value
            default: fields.append((name, value))
            }
        }
        func field(_ name: String) -> String? { fields.last { $0.0 == name }?.1 }
        if flags & 2 != 0, let synapse = try? SynapseRequest.decode(body) {
            fields.removeAll { $0.0 == "computed_body_hash" }
            fields.append(("computed_body_hash", synapse.bodyHash))
        }
        if flags & 1 != 0 {
            let hotkey = SS58.encode(requestSigner.publicKey)
            let nonce = field("bt_header_dendrite_nonce") ?? String(Int64(clamping: Int64(exactly: (now * 1e9).rounded(.down)) ?? 0))
            let message = "\(nonce).\(hotkey).\(requestMiner.hotkey).\(field("bt_header_dendrite_uuid") ?? "None").\(field("computed_body_hash") ?? "")"
            fields.removeAll { ["bt_header_dendrite_hotkey", "bt_header_dendrite_nonce", "bt_header_dendrite_signature"].contains($0.0) }
            fields += [
                ("bt_header_dendrite_hotkey", hotkey), ("bt_header_dendrite_nonce", nonce),
                ("bt_header_dendrite_signature", "0x" + Hex.encode(requestSigner.sign(Array(message.utf8)))),
            ]
        }
        var headers = HTTPFields()
        for (name, value) in fields {
            guard let fieldName = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        requestClock.withLock { $0 = now }
        let done = DispatchSemaphore(value: 0)
        Task { [method, path, headers] in
            if let (status, _) = try? await requestPath.respond(method: method, path: path, headers: headers, body: body) {
                precondition([200, 400, 401, 403, 404, 405, 413, 415, 417, 422, 429, 503].contains(status), "unexpected status \(status)")
                if verbose { print("status \(status)") }
            }
            done.signal()
        }
        done.wait()
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
