import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Sends signed requests as a validator's dendrite does and reads the streamed answers with the
/// dendrite's rules: one total deadline over connect and body (aiohttp's `ClientTimeout(total=)`),
/// each read decoded as UTF-8 on its own, the status taken from the axon's headers.
public struct ValidatorClient: Sendable {
    public let client: HTTPClient
    /// Words per read above which a chunk counts as oversize.
    public var oversizeWords = 200

    public init(client: HTTPClient) {
        self.client = client
    }

    /// A client for `connections` concurrent requests to one host.
    public static func makeHTTPClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(connections, 1)
        configuration.decompression = .disabled
        // aiohttp fails at once when the connection is refused (the dendrite reports 503).
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func send(_ request: DendriteRequest, as validator: SimulatedValidator, reference: Double?) async -> ValidatorResult {
        let (headers, body) = request.signed(by: validator)
        var http = HTTPClientRequest(url: "http://\(request.axonHost):\(request.axonPort)/\(request.synapse)")
        http.method = .POST
        for (name, value) in headers { http.headers.add(name: name, value: value) }
        http.body = .bytes(ByteBuffer(string: body))

        let sentAt = Date().timeIntervalSince1970
        let started = ContinuousClock.now
        let exchange = Exchange(started: started, oversizeWords: oversizeWords)
        let deadline = started + .milliseconds(Int64(request.timeout * 1000))
        let finished: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask { [http] in
                await exchange.run(http, client: client, deadline: .now() + .milliseconds(Int64(request.timeout * 1000) + 100))
                return true
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        var state = exchange.state.withLock { $0 }
        if !finished {
            state.status = 408
            state.message = "Request timeout after \(request.timeout) seconds"
        }
        if state.status != 200 && state.status != 408 && state.status != 400 { state.completion = "" }
        return ValidatorResult(
            validator: validator.hotkey, uuid: request.uuid, nonce: request.nonce, timeout: request.timeout,
            sentAt: sentAt, status: state.status ?? 422, statusMessage: state.message, chunks: state.chunks,
            completion: state.completion, total: (ContinuousClock.now - started).seconds,
            oversizeChunks: state.oversizeChunks, reference: reference
        )
    }
}

/// One request in flight; its state survives the request task being cancelled at the deadline.
final class Exchange: Sendable {
    struct State: Sendable {
        var status: Int?
        var message: String?
        var chunks: [ValidatorResult.Chunk] = []
        var completion = ""
        var oversizeChunks = 0
    }

    let state = Mutex(State())
    let started: ContinuousClock.Instant
    let oversizeWords: Int

    init(started: ContinuousClock.Instant, oversizeWords: Int) {
        self.started = started
        self.oversizeWords = oversizeWords
    }

    private func set(_ status: Int, _ message: String) {
        state.withLock {
            $0.status = status
            $0.message = message
        }
    }

    func run(_ request: HTTPClientRequest, client: HTTPClient, deadline: NIODeadline) async {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline)
        } catch {
            if Task.isCancelled { return }
            set(503, "Service unavailable at \(request.url): \(error)")
            return
        }
        guard response.status == .ok else {
            var text = ""
            do {
                for try await part in response.body { text += String(buffer: part) }
            } catch {}
            let message = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["message"] as? String
            set(Int(response.status.code), message ?? text)
            return
        }
        // Every numeric header must parse, as the dendrite's synapse model requires.
        let numeric = ["timeout", "header_size", "total_size", "bt_header_axon_process_time", "bt_header_axon_port"]
        for name in numeric {
            if let value = response.headers.first(name: name), Double(value) == nil {
                set(422, "Failed to parse response: header \(name) is '\(value)'")
                return
            }
        }
        guard let code = response.headers.first(name: "bt_header_axon_status_code").flatMap(Int.init) else {
            set(422, "Failed to parse response: no bt_header_axon_status_code")
            return
        }
        let statusMessage = response.headers.first(name: "bt_header_axon_status_message")
        state.withLock {
            $0.status = code
            $0.message = statusMessage
        }
        do {
            for try await part in response.body {
                let offset = (ContinuousClock.now - started).seconds
                // The dendrite decodes each read on its own: a split character fails the answer.
                guard let text = String(validating: part.readableBytesView, as: UTF8.self) else {
                    state.withLock {
                        $0.status = 422
                        $0.message = "Failed to parse response: a read is not valid UTF-8 on its own"
                        $0.completion = ""
                    }
                    return
                }
                let oversize = FinalAnswer.wordCount(part.readableBytesView) > oversizeWords
                state.withLock {
                    $0.chunks.append(.init(offset: offset, bytes: part.readableBytes))
                    $0.completion += text
                    if oversize { $0.oversizeChunks += 1 }
                }
            }
        } catch {
            if Task.isCancelled { return }
            set(400, "Payload error: \(error)")
        }
    }
}

extension Duration {
    /// In seconds, for figures and JSON.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
