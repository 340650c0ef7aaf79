import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A test server that streams server-sent events the way OpenAI-compatible servers and TGI do,
/// and records what it was asked and when its client went away.
final class FakeStreamServer: Sendable {
    struct Script: Sendable {
        var status: HTTPResponse.Status = .ok
        var errorBody = ""
        /// Raw pieces written one by one, `gap` apart.
        var pieces: [[UInt8]] = []
        var gap: Duration = .milliseconds(5)
        /// Stay silent for 1.5 s after the pieces.
        var stallAfter = false
    }

    let script: Mutex<Script>
    let requests = Mutex<[(path: String, headers: HTTPFields, body: Data)]>([])
    /// When the server noticed its client was gone (a failed write).
    let clientGoneAt = Mutex<ContinuousClock.Instant?>(nil)

    init(_ script: Script) {
        self.script = Mutex(script)
    }

    var lastBody: [String: Any] {
        (try? JSONSerialization.jsonObject(with: requests.withLock { $0.last!.body })) as? [String: Any] ?? [:]
    }
    var lastHeaders: HTTPFields { requests.withLock { $0.last!.headers } }

    func application() -> some ApplicationProtocol {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            let body = Data(bytes.readableBytesView)
            self.requests.withLock { $0.append((request.uri.path, request.headers, body)) }
            let script = self.script.withLock { $0 }
            guard script.status == .ok else {
                return Response(status: script.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: script.errorBody)))
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init { writer in
                do {
                    for piece in script.pieces {
                        try await Task.sleep(for: script.gap)
                        try await writer.write(ByteBuffer(bytes: piece))
                    }
                    if script.stallAfter {
                        try await Task.sleep(for: .milliseconds(1500))  // silence, longer than the test's idle_timeout
                    }
                    try await writer.finish(nil)
                } catch {
                    self.clientGoneAt.withLock { $0 = $0 ?? .now }
                }
            })
        }
        router.post("v1/chat/completions", use: handler)
        router.post("generate_stream", use: handler)
        router.post("api/generate", use: handler)
        router.post("tokenize", use: handler)
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// OpenAI chunks for `deltas`, an optional usage chunk, then `[DONE]`.
    static func openAIEvents(_ deltas: [String], usage: Bool = true, done: Bool = true) -> [[UInt8]] {
        var events = deltas.map { delta -> [UInt8] in
            let json = try! JSONSerialization.data(withJSONObject: [
                "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
                "choices": [["index": 0, "delta": ["content": delta], "finish_reason": NSNull()]],
            ])
            return Array("data: ".utf8) + Array(json) + Array("\n\n".utf8)
        }
        if usage {
            events.append(Array(#"data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}"#.utf8) + [10, 10])
        }
        if done { events.append(Array("data: [DONE]\n\n".utf8)) }
        return events
    }

    /// Each JSON text as one `data:` event, then `[DONE]`: shapes recorded from real servers.
    static func dataEvents(_ jsons: [String], done: Bool = true) -> [[UInt8]] {
        jsons.map { Array("data: \($0)\n\n".utf8) } + (done ? [Array("data: [DONE]\n\n".utf8)] : [])
    }

    /// TGI events: one per token, the last with generated_text.
    static func tgiEvents(_ tokens: [(String, Bool)], final: Bool = true) -> [[UInt8]] {
        tokens.enumerated().map { index, token in
            let last = final && index == tokens.count - 1
            let json = try! JSONSerialization.data(withJSONObject: [
                "token": ["id": index, "text": token.0, "logprob": -0.1, "special": token.1],
                "generated_text": last ? tokens.filter { !$0.1 }.map(\.0).joined() as Any : NSNull(),
                "details": NSNull(),
            ])
            return Array("data:".utf8) + Array(json) + Array("\n\n".utf8)
        }
    }
}
