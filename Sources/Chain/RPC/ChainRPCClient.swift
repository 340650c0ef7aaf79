import Config
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import WSClient

/// JSON-RPC 2.0 over one websocket to a substrate node: requests matched to answers by id, and
/// subscriptions (the extrinsic status updates) delivered as streams. `wss://` uses TLS with
/// the system's trust roots.
public actor ChainRPCClient {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The JSON-RPC error code, when the node sent one.
        public var code: Int?
        public var message: String
        /// The error's `data` (substrate puts "Custom error: 12" there).
        public var data: String?
        public var description: String {
            [code.map { "error \($0)" }, message, data].compactMap { $0 }.joined(separator: ": ")
        }
    }

    public let url: String
    private var outbound: WebSocketOutboundWriter?
    private var connectWaiters: [CheckedContinuation<Void, any Error>] = []
    private var pending: [Int: CheckedContinuation<RPCValue, any Error>] = [:]
    private var subscriptions: [String: AsyncThrowingStream<RPCValue, any Error>.Continuation] = [:]
    /// Notifications that arrived before their subscription id was known to the caller.
    private var early: [String: [RPCValue]] = [:]
    private var nextID = 1
    private var closed: Failure?
    private var runTask: Task<Void, Never>?
    private let timeout: Duration

    /// Connects, or throws when the node cannot be reached within `timeout`.
    /// `caFile`: PEM certificates to trust for `wss://` instead of the system's roots.
    public static func connect(
        url: String, caFile: String? = nil, timeout: Duration = .seconds(30), logger: Logger = Logger(label: "chain")
    ) async throws -> ChainRPCClient {
        if url.hasPrefix("wss://"), let host = URLComponents(string: url)?.host,
           IPAddressText.parse(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil {
            // The TLS client sends the host as the server name and checks the certificate
            // against it; an address can be neither.
            throw Failure(message: "\(url): wss:// needs the node's host name (the one its certificate names), not an IP address")
        }
        let client = ChainRPCClient(url: url, timeout: timeout)
        await client.start(caFile: caFile, logger: logger)
        try await client.waitConnected()
        return client
    }

    private init(url: String, timeout: Duration) {
        self.url = url
        self.timeout = timeout
    }

    private func start(caFile: String?, logger: Logger) {
        var configuration = WebSocketClientConfiguration()
        // Metadata (600 KB) and a 1024-neuron metagraph (1.2 MB) arrive as single messages.
        configuration.maxFrameSize = 1 << 24
        var tls: TLSConfiguration?
        if url.hasPrefix("wss://") {
            tls = .makeClientConfiguration()
            if let caFile { tls?.trustRoots = .file(caFile) }
        }
        runTask = Task { [url] in
            let client = WebSocketClient(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                await self.attach(outbound)
                for try await message in inbound.messages(maxSize: 1 << 26) {
                    guard case .text(let text) = message else { continue }
                    await self.receive(Data(text.utf8))
                }
            }
            var reason = Failure(message: "the connection to \(url) closed")
            do {
                try await client.run()
            } catch {
                reason = Failure(message: "cannot talk to \(url): \(error)")
            }
            self.shutDown(reason)
        }
    }

    private func waitConnected() async throws {
        let deadline = Task { [timeout] in
            try await Task.sleep(for: timeout)
            self.shutDown(Failure(message: "no websocket connection to \(self.url) within \(timeout)"))
        }
        defer { deadline.cancel() }
        if outbound != nil { return }
        if let closed { throw closed }
        try await withCheckedThrowingContinuation { connectWaiters.append($0) }
    }

    private func attach(_ writer: WebSocketOutboundWriter) {
        outbound = writer
        for waiter in connectWaiters { waiter.resume() }
        connectWaiters = []
    }

    private func shutDown(_ reason: Failure) {
        guard closed == nil else { return }
        closed = reason
        outbound = nil
        for waiter in connectWaiters { waiter.resume(throwing: reason) }
        connectWaiters = []
        for (_, continuation) in pending { continuation.resume(throwing: reason) }
        pending = [:]
        for (_, continuation) in subscriptions { continuation.finish(throwing: reason) }
        subscriptions = [:]
        runTask?.cancel()  // e.g. a connection attempt that outlived the connect timeout
    }

    public func close() async {
        try? await outbound?.close(.normalClosure, reason: nil)
        shutDown(Failure(message: "closed"))
    }

    /// One request; its `result`, or a `Failure` for an error answer, a lost connection or no
    /// answer within the timeout.
    public func call(_ method: String, _ params: [RPCValue] = []) async throws -> RPCValue {
        if let closed { throw closed }
        guard let outbound else { throw Failure(message: "not connected to \(url)") }
        let id = nextID
        nextID += 1
        let request = try JSONEncoder().encode(Request(id: id, method: method, params: params))
        let timer = Task { [timeout] in
            try await Task.sleep(for: timeout)
            self.expire(id, method: method)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            Task {
                do {
                    try await outbound.write(.text(String(decoding: request, as: UTF8.self)))
                } catch {
                    self.fail(id, Failure(message: "cannot send \(method): \(error)"))
                }
            }
        }
    }

    private func expire(_ id: Int, method: String) {
        fail(id, Failure(message: "no answer to \(method) from \(url) within \(timeout)"))
    }

    private func fail(_ id: Int, _ failure: Failure) {
        pending.removeValue(forKey: id)?.resume(throwing: failure)
    }

    /// A subscription: the call answers with an id; the notifications carrying that id follow.
    public func subscribe(_ method: String, _ params: [RPCValue]) async throws -> (id: String, updates: AsyncThrowingStream<RPCValue, any Error>) {
        let answer = try await call(method, params)
        guard let id = answer.string ?? answer.int.map(String.init) else {
            throw Failure(message: "\(method) answered without a subscription id: \(answer)")
        }
        let (stream, continuation) = AsyncThrowingStream<RPCValue, any Error>.makeStream()
        for update in early.removeValue(forKey: id) ?? [] { continuation.yield(update) }
        subscriptions[id] = continuation
        return (id, stream)
    }

    public func endSubscription(_ id: String) {
        subscriptions.removeValue(forKey: id)?.finish()
        early.removeValue(forKey: id)
    }

    private func receive(_ data: Data) {
        guard let message = try? JSONDecoder().decode(RPCValue.self, from: data) else { return }
        if let id = message["id"]?.int, let continuation = pending.removeValue(forKey: id) {
            if let error = message["error"], !error.isNull {
                continuation.resume(throwing: Failure(
                    code: error["code"]?.int, message: error["message"]?.string ?? "error",
                    data: error["data"].flatMap { $0.string ?? ($0.isNull ? nil : "\($0)") }
                ))
            } else {
                continuation.resume(returning: message["result"] ?? .null)
            }
        } else if let params = message["params"], let subscription = params["subscription"] {
            let id = subscription.string ?? subscription.int.map(String.init) ?? ""
            let result = params["result"] ?? .null
            if let continuation = subscriptions[id] {
                continuation.yield(result)
            } else {
                early[id, default: []].append(result)
            }
        }
    }

    private struct Request: Encodable {
        var jsonrpc = "2.0"
        var id: Int
        var method: String
        var params: [RPCValue]
    }
}
