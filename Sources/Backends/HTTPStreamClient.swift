import AsyncHTTPClient
import EventStream
import Config
import Foundation
import NIOCore
import NIOHTTP1

/// The pooled HTTP client of one backend (connections are reused across the worker's
/// requests), and the shared steps of a streaming POST: send JSON, check the status, feed the
/// body through the SSE parser, map network failures to `BackendError`s.
final class HTTPStreamClient: Sendable {
    let config: HTTPBackendConfig
    private let client: HTTPClient
    /// The side requests' own pool: a stream holds its connection for its whole answer, so a
    /// `/tokenize` from the streams' pool would wait for a stream to end when all are busy.
    private let sideClient: HTTPClient
    /// The most an event may hold before it completes: a server that never ends a line would
    /// otherwise grow the worker's memory without bound.
    static let maxEventBytes = 1 << 20

    /// `connections`: how many streams may run at once when the config does not say
    /// (`max_connections`). AsyncHTTPClient's default of 8 per host would make every stream
    /// past the eighth wait for another's whole answer.
    init(_ config: HTTPBackendConfig, connections: Int) {
        self.config = config
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, config.maxConnections ?? connections)
        configuration.timeout = .init(
            connect: .milliseconds(Int64(config.connectTimeout * 1000)),
            read: .milliseconds(Int64(config.idleTimeout * 1000))  // the longest silence mid-stream
        )
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        sideClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
        try? await sideClient.shutdown()
    }

    /// POSTs `body` to `url` (the server's root and a path) and returns the status and up to
    /// `limit` bytes of the answer: the small side requests (warm-up, keep-alive, tokenize).
    /// `timeout` bounds the whole exchange: the client's own deadline ends with the answer's head.
    func post(url: String, body: Data, headers: [String: String] = [:], timeout: Double, limit: Int = 1 << 20) async throws -> (status: Int, body: ByteBuffer) {
        try await withThrowingTaskGroup(of: (status: Int, body: ByteBuffer)?.self) { group in
            group.addTask { try await self.exchange(url: url, body: body, headers: headers, timeout: timeout, limit: limit) }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let answer = try await group.next() ?? nil else {
                throw BackendError(.stalled, "\(url): no whole answer within \(timeout) s")
            }
            return answer
        }
    }

    private func exchange(url: String, body: Data, headers: [String: String], timeout: Double, limit: Int) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in config.extraHeaders.merging(headers, uniquingKeysWith: { $1 }) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await sideClient.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            return (Int(response.status.code), try await response.body.collect(upTo: limit))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw BackendError(.unreachable, "\(url): \(error)")
        }
    }

    /// POSTs `body` to `path` and hands every SSE event's data to `event`, which returns false
    /// to stop reading.
    func streamEvents(
        path: String, body: Data, headers: [String: String],
        event: (String) async throws -> Bool
    ) async throws {
        var request = HTTPClientRequest(url: config.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in config.extraHeaders.merging(headers, uniquingKeysWith: { $1 }) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(Int64(config.connectTimeout + config.idleTimeout)))
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .readTimeout {
            // Connected, then silent for idle_timeout before the answer's head: a stalled server.
            throw BackendError(.stalled, "\(config.baseURL)\(path): no answer within idle_timeout (\(config.idleTimeout) s)")
        } catch {
            throw BackendError(.unreachable, "\(config.baseURL)\(path): \(error)")
        }
        guard response.status == .ok else {
            let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            throw BackendError(.http, "\(config.baseURL)\(path) answered \(response.status.code): \(Self.errorMessage(text))", status: Int(response.status.code))
        }
        var parser = SSEParser()
        do {
            for try await buffer in response.body {
                for data in parser.feed(buffer.readableBytesView) where try await !event(data) { return }
                if parser.pendingBytes > Self.maxEventBytes {
                    throw BackendError(.malformed, "an event longer than \(Self.maxEventBytes >> 20) MiB")
                }
            }
        } catch let error as BackendError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            let kind: BackendError.Kind = (error as? HTTPClientError) == .readTimeout ? .stalled : .closedEarly
            throw BackendError(kind, kind == .stalled
                ? "no data for \(config.idleTimeout) s (idle_timeout)" : "the stream broke: \(error)")
        }
        for data in parser.finish() where try await !event(data) { return }
    }

    /// The `error.message` (OpenAI) or `error` (TGI) of an error body, else the body itself.
    static func errorMessage(_ body: String) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
            if let message = object["error"] as? String { return message }
            if let message = object["message"] as? String { return message }
        }
        return String(body.prefix(500))
    }
}
