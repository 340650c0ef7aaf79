import AsyncHTTPClient
import Config
import Foundation
import NIOCore

/// How a service's health is checked: over HTTP, or scripted by a test.
public protocol HealthChecking: Sendable {
    func check(_ service: ServiceConfig) async -> HealthProbe.Result
}

/// One health check of a service: GET its health path (2xx), and when a model is named, that
/// `GET /v1/models` lists it. The answer is bounded and summed up in one line for `status`.
public struct HealthProbe: HealthChecking {
    public var client: HTTPClient
    /// Larger answers are cut: a model list is a few KiB.
    public static let maxBytes = 1 << 20

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public struct Result: Sendable, Equatable {
        public var healthy: Bool
        /// What the server answered, for `status` and the log: `200`, `503 Loading model`, `connection refused`.
        public var answer: String
        public var seconds: Double

        public init(healthy: Bool, answer: String, seconds: Double) {
            self.healthy = healthy
            self.answer = answer
            self.seconds = seconds
        }
    }

    public func check(_ service: ServiceConfig) async -> Result {
        let started = ContinuousClock.now
        let timeout = TimeAmount.milliseconds(Int64(service.health.timeout * 1000))
        func result(_ healthy: Bool, _ answer: String) -> Result {
            Result(healthy: healthy, answer: answer, seconds: (ContinuousClock.now - started).seconds)
        }
        do {
            let (status, body) = try await get(service.rootURL + service.health.path, timeout: timeout)
            guard (200..<300).contains(status) else { return result(false, Self.summary(status, body)) }
            guard let model = service.health.model else { return result(true, "\(status)") }
            let listing = service.health.path == HealthCheckConfig.modelsPath
                ? (status, body) : try await get(service.rootURL + HealthCheckConfig.modelsPath, timeout: timeout)
            guard (200..<300).contains(listing.0) else { return result(false, "\(HealthCheckConfig.modelsPath): " + Self.summary(listing.0, listing.1)) }
            let models = Self.modelIDs(listing.1)
            guard models.contains(model) else {
                let served = models.isEmpty ? "none" : models.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
                return result(false, "model '\(model)' is not served; \(HealthCheckConfig.modelsPath) lists \(served)")
            }
            return result(true, "\(status), model '\(model)' listed")
        } catch {
            return result(false, Self.describe(error))
        }
    }

    private func get(_ url: String, timeout: TimeAmount) async throws -> (Int, ByteBuffer) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
        // The body within the same bound: a server that sends headers and then nothing.
        let body = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask { try await response.body.collect(upTo: Self.maxBytes) }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                throw HTTPClientError.readTimeout
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        return (Int(response.status.code), body)
    }

    /// The ids of an OpenAI model list (`{"data": [{"id": ...}]}`).
    static func modelIDs(_ body: ByteBuffer) -> [String] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let data = json["data"] as? [[String: Any]] else { return [] }
        return data.compactMap { $0["id"] as? String }
    }

    /// `503 Loading model`: the status and the start of the body, on one line.
    static func summary(_ status: Int, _ body: ByteBuffer) -> String {
        let text = String(decoding: body.readableBytesView.prefix(160), as: UTF8.self)
            .map { $0.isNewline || $0.isASCII && $0.asciiValue! < 32 ? " " : $0 }
        let trimmed = String(text).trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? "\(status)" : "\(status) \(trimmed)"
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") { return "no connection within the timeout" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("Connection reset") || text.contains("remoteConnectionClosed") { return "connection reset" }
        if text.contains("readTimeout") || text.contains("deadlineExceeded") { return "no answer within the timeout" }
        return String(text.prefix(160))
    }
}
