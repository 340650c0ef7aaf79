import AsyncHTTPClient
import Config
import Foundation
import LogStore
import NIOCore

/// How a service's health is checked: over HTTP, or scripted by a test.
public protocol HealthChecking: Sendable {
    func check(_ service: ServiceConfig) async -> HealthProbe.Result
}

/// One health check of a service: GET its health path (2xx), and when a model is named, that
/// `GET /v1/models` lists it, all within the check's `timeout`. The server is not trusted: its
/// answer is summed up in one bounded line of printable text (it reaches the log, `status` and
/// the workers' pipes), and redirects are not followed (a redirect to another host would make
/// the supervisor fetch it).
public struct HealthProbe: HealthChecking {
    public var client: HTTPClient
    /// Larger answers are cut: a model list is a few KiB.
    public static let maxBytes = 1 << 20
    /// The longest answer kept, in UTF-8 bytes.
    public static let maxAnswerBytes = 200

    /// One client for every probe of the process: no redirects, a connection per check.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(client: HTTPClient = HealthProbe.sharedClient) {
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
        let deadline = NIODeadline.now() + .milliseconds(Int64(service.health.timeout * 1000))
        func result(_ healthy: Bool, _ answer: String) -> Result {
            Result(healthy: healthy, answer: Self.printable(answer, maxBytes: Self.maxAnswerBytes), seconds: (ContinuousClock.now - started).seconds)
        }
        do {
            let (status, body) = try await get(service.rootURL + service.health.path, deadline: deadline)
            guard (200..<300).contains(status) else { return result(false, Self.summary(status, body)) }
            guard let model = service.health.model else { return result(true, "\(status)") }
            let listing = service.health.path == HealthCheckConfig.modelsPath
                ? (status, body) : try await get(service.rootURL + HealthCheckConfig.modelsPath, deadline: deadline)
            guard (200..<300).contains(listing.0) else { return result(false, "\(HealthCheckConfig.modelsPath): " + Self.summary(listing.0, listing.1)) }
            let models = Self.modelIDs(listing.1)
            guard models.contains(model) else {
                let served = models.isEmpty ? "none" : models.prefix(4).map { "'\(Self.printable($0, maxBytes: 40))'" }.joined(separator: ", ")
                return result(false, "model '\(model)' is not served; \(HealthCheckConfig.modelsPath) lists \(served)")
            }
            return result(true, "\(status), model '\(model)' listed")
        } catch {
            return result(false, Self.describe(error))
        }
    }

    /// The status and the body, both before `deadline`.
    private func get(_ url: String, deadline: NIODeadline) async throws -> (Int, ByteBuffer) {
        let response = try await client.execute(HTTPClientRequest(url: url), deadline: deadline)
        // The body within the same bound: a server that sends headers and then nothing.
        let body = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask { try await response.body.collect(upTo: Self.maxBytes) }
            group.addTask {
                let left = deadline - NIODeadline.now()
                try await Task.sleep(for: .nanoseconds(max(0, left.nanoseconds)))
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

    /// `503 Loading model`: the status and the start of the body.
    static func summary(_ status: Int, _ body: ByteBuffer) -> String {
        let text = printable(String(decoding: body.readableBytesView.prefix(maxAnswerBytes), as: UTF8.self), maxBytes: maxAnswerBytes)
        return text.isEmpty ? "\(status)" : "\(status) \(text)"
    }

    /// One line of printable text of at most `maxBytes` UTF-8 bytes: every control character
    /// (C0, DEL, C1, line and paragraph separators) a space, runs of spaces one, cut at a
    /// character's boundary.
    static func printable(_ text: String, maxBytes: Int) -> String {
        var result = ""
        var bytes = 0
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            if PrintableText.isControl(scalar) || scalar == " " {
                if lastWasSpace { continue }
                lastWasSpace = true
                guard bytes + 1 <= maxBytes else { break }
                result.unicodeScalars.append(" ")
                bytes += 1
            } else {
                lastWasSpace = false
                let size = String(scalar).utf8.count
                guard bytes + size <= maxBytes else { break }
                result.unicodeScalars.append(scalar)
                bytes += size
            }
        }
        return result.trimmingCharacters(in: .whitespaces)
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") { return "no connection within the timeout" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("Connection reset") || text.contains("remoteConnectionClosed") { return "connection reset" }
        if text.contains("readTimeout") || text.contains("deadlineExceeded") { return "no answer within the timeout" }
        if text.contains("redirect") { return "a redirect (not followed)" }
        return text
    }
}
