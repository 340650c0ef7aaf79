import AsyncHTTPClient
import Config
import Foundation
import NIOCore

/// Posts a message to a webhook: each try within `timeout`, up to `tries` tries, waiting
/// `backoff` seconds, doubling, between them, or what a 429's Retry-After asks (at most
/// `maxRetryAfter`). A 3xx (redirects are not followed) or a 4xx other than 429 is not tried
/// again: the request or the URL is wrong.
public struct WebhookSender: Sendable {
    /// One POST: the HTTP status and the Retry-After header, if any.
    public typealias Transport = @Sendable (_ url: String, _ body: [UInt8], _ timeout: Double) async throws -> (status: Int, retryAfter: String?)

    public var tries = 3
    public var backoff = 1.0
    public var maxRetryAfter = 60.0
    public var timeout = 10.0
    public var transport: Transport
    public var sleep: @Sendable (Double) async throws -> Void

    public init(transport: @escaping Transport = WebhookSender.post, sleep: @escaping @Sendable (Double) async throws -> Void = SupervisorClock.system.sleep) {
        self.transport = transport
        self.sleep = sleep
    }

    public enum Outcome: Sendable, Equatable {
        case delivered(status: Int, tries: Int)
        case failed(String, tries: Int)
    }

    public func send(_ message: AlertMessage, to webhook: WebhookConfig) async -> Outcome {
        let body = WebhookPayload.body(message, for: webhook)
        var wait = backoff
        var problem = "not tried"
        for attempt in 1...max(1, tries) {
            var retryAfter: Double?
            do {
                let (status, after) = try await transport(webhook.url.value, body, timeout)
                if (200..<300).contains(status) { return .delivered(status: status, tries: attempt) }
                problem = "HTTP \(status)"
                if status == 429 {
                    retryAfter = Self.retryAfter(after, max: maxRetryAfter)
                } else if (300..<500).contains(status) {
                    return .failed(problem, tries: attempt)
                }
            } catch is CancellationError {
                return .failed("cancelled", tries: attempt)
            } catch {
                problem = Self.describe(error, hiding: webhook.url)
            }
            guard attempt < tries else { break }
            guard (try? await sleep(retryAfter ?? wait)) != nil else { return .failed("cancelled after \(problem)", tries: attempt) }
            wait *= 2
        }
        return .failed(problem, tries: max(1, tries))
    }

    /// Seconds a 429's `Retry-After` asks for, within 0...`max`; nil for anything but a number
    /// of seconds (an HTTP date, garbage, `nan`: `Double` reads "nan", and a NaN slips through
    /// `min`/`max`).
    static func retryAfter(_ header: String?, max limit: Double) -> Double? {
        guard let seconds = header.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), !seconds.isNaN else { return nil }
        return Swift.min(Swift.max(seconds, 0), limit)
    }

    /// An error's text without the URL, its path or its query: they hold the secret.
    static func describe(_ error: any Error, hiding url: Secret) -> String {
        var text = url.redact(String(describing: error))
        if let parsed = URL(string: url.value) {
            for part in [parsed.path, parsed.query ?? ""] where part.count > 1 {
                text = text.replacingOccurrences(of: part, with: "<secret>")
            }
        }
        if error is TimedOut { return "no answer within the timeout" }
        if let error = error as? HTTPClientError, [.deadlineExceeded, .connectTimeout, .readTimeout].contains(error) { return "no answer within the timeout" }
        if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
        return String(text.prefix(200))
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "no answer in time" }
    }

    /// One client for every webhook of the process: no redirects (the body would follow to
    /// another host), and a refused connection fails at once: `send` retries, with backoff.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A POST of JSON with AsyncHTTPClient: the answer's head within `timeout`; its body (at
    /// most 64 KiB) is read for a moment after, but the status is the answer: a 200 whose body
    /// never ends is delivered, not tried (and posted) again.
    public static let post: Transport = { url, body, timeout in
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "miners-alerts")
        request.body = .bytes(ByteBuffer(bytes: body))
        let post = request
        let response = try await within(timeout) { try await client.execute(post, timeout: .milliseconds(Int64(timeout * 1000))) }
        _ = try? await within(min(timeout, 2)) { try await response.body.collect(upTo: 64 << 10) }
        return (Int(response.status.code), response.headers.first(name: "Retry-After"))
    }

    /// `work`'s result, or `TimedOut` after `seconds`.
    static func within<T: Sendable>(_ seconds: Double, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask(operation: work)
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                throw TimedOut()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
