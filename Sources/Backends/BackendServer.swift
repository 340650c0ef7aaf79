import Config
import Foundation
import NIOCore

/// The HTTP server behind a backend, for what a worker asks of it besides answers: a warm-up
/// request before serving, Ollama's keep-alive, and token counts for `max_batch_tokens`.
public struct BackendServer: Sendable {
    let http: HTTPStreamClient
    let model: String
    let headers: [String: String]
    /// The path and body of a one-question request capped at `maxTokens`.
    let smallRequest: @Sendable (GenerationRequest, Int) -> (path: String, body: Data)

    public var config: HTTPBackendConfig { http.config }

    /// One request of one token, read to its end: the model is loaded and its kernels compiled
    /// before the first validator asks. `timeout` bounds a cold load.
    public func warmUp(timeout: Double) async throws {
        let (path, body) = smallRequest(GenerationRequest(roles: ["user"], messages: ["Say OK."]), 1)
        let answer = try await http.post(url: http.config.baseURL + path, body: body, headers: headers, timeout: timeout)
        guard answer.status == 200 else {
            throw BackendError(.http, "the warm-up request answered \(answer.status): \(HTTPStreamClient.errorMessage(String(buffer: answer.body)))", status: answer.status)
        }
    }

    /// Ollama's native `POST /api/generate {"model", "keep_alive"}` with no prompt: it loads the
    /// model when it is not loaded and sets how long it stays so.
    public func keepAlive(_ value: KeepAlive, timeout: Double) async throws {
        let keep: Any = switch value {
        case .seconds(let seconds): seconds
        case .duration(let text): text
        }
        let body = ChatCompletionStream.encode(["model": model, "keep_alive": keep])
        let answer = try await http.post(url: http.config.rootURL + "/api/generate", body: body, headers: headers, timeout: timeout)
        guard answer.status == 200 else {
            throw BackendError(.http, "keep_alive: \(http.config.rootURL)/api/generate answered \(answer.status): \(HTTPStreamClient.errorMessage(String(buffer: answer.body)))", status: answer.status)
        }
    }

    /// The number of tokens in `text` by the server's own tokenizer, or nil when it has no
    /// `/tokenize` (Ollama) or answers in a shape not known. One body fits vLLM and SGLang
    /// (`prompt` → `count`), llama.cpp (`content` → `tokens`) and TGI (`inputs` → a list).
    public func countTokens(_ text: String, timeout: Double) async throws -> Int? {
        let body = ChatCompletionStream.encode([
            "model": model, "prompt": text, "content": text, "inputs": text,
            "add_special_tokens": false, "add_special": false,
        ])
        let answer = try await http.post(url: http.config.rootURL + "/tokenize", body: body, headers: headers, timeout: timeout, limit: 1 << 20)
        // No such endpoint: nil, and the counter asks no more. Any other failure (a 503 while
        // busy) counts this piece as one and asks again for the next.
        if [404, 405, 501].contains(answer.status) { return nil }
        guard answer.status == 200 else {
            throw BackendError(.http, "/tokenize answered \(answer.status)", status: answer.status)
        }
        let object = try? JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView))
        if let fields = object as? [String: Any] {
            if let count = fields["count"] as? Int { return count }
            if let tokens = fields["tokens"] as? [Any] { return tokens.count }
        }
        return (object as? [Any])?.count
    }
}
