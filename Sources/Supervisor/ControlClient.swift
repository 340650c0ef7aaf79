import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to a running supervisor over its control socket.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public func status() async throws -> SupervisorStatus {
        let (status, body) = try await send("/status", method: .GET)
        guard status == 200 else { throw Failure(description: message(body)) }
        return try JSONDecoder().decode(SupervisorStatus.self, from: body)
    }

    /// Posts an action; returns the supervisor's message or throws it.
    public func post(_ path: String) async throws -> String {
        let (status, body) = try await send(path, method: .POST)
        guard status == 200 else { throw Failure(description: message(body)) }
        return message(body)
    }

    private func message(_ body: Data) -> String {
        (try? JSONDecoder().decode([String: String].self, from: body))?["message"] ?? String(decoding: body, as: UTF8.self)
    }

    private func send(_ path: String, method: HTTPMethod) async throws -> (UInt, Data) {
        guard FileManager.default.fileExists(atPath: socketPath) else {
            throw Failure(description: "no supervisor is running (no control socket at \(socketPath))")
        }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw Failure(description: "invalid control socket path \(socketPath)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        let response: HTTPClientResponse
        do {
            // Reload and stop wait for workers to finish their streams: allow the grace period.
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        } catch {
            throw Failure(description: "no supervisor answers on \(socketPath) (\(error))")
        }
        let body = try await response.body.collect(upTo: 16 << 20)
        return (response.status.code, Data(body.readableBytesView))
    }
}
