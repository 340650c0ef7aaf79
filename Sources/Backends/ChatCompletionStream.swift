import Config
import Foundation

/// The `chat.completion.chunk` stream every OpenAI-compatible server sends (vLLM, SGLang,
/// llama.cpp, Ollama's `/v1`, TGI's Messages API): `delta.content` is the answer; a reasoning
/// model's thinking comes in `delta.reasoning_content` (SGLang, llama.cpp, vLLM before 0.11.1)
/// or `delta.reasoning` (newer vLLM, Ollama); `[DONE]` ends it.
public struct ChatCompletionStream: Sendable {
    let http: HTTPStreamClient
    let path: String
    let reasoning: ReasoningMode

    /// Streams one request's answer through `send`; thinking too when `reasoning` is `stream`.
    func run(body: Data, headers: [String: String], report: GenerationReport, send: @Sendable (String) async -> Void) async throws {
        var finished = false
        try await http.streamEvents(path: path, body: body, headers: headers) { data in
            guard let chunk = try Self.decode(data) else {
                finished = true
                return false
            }
            if chunk.promptTokens != nil || chunk.completionTokens != nil {
                report.recordUsage(prompt: chunk.promptTokens, completion: chunk.completionTokens)
            }
            for piece in chunk.pieces {
                switch piece {
                case .thinking(let text):
                    report.recordReasoning()
                    if reasoning == .stream { await send(text) }
                case .answer(let text):
                    await send(text)
                }
            }
            return true
        }
        if !finished { throw BackendError(.closedEarly, "the stream ended without data: [DONE]") }
    }

    /// What one event says: its pieces of text in order, and token usage when it has it.
    public struct Chunk: Equatable, Sendable {
        public enum Piece: Equatable, Sendable {
            case thinking(String)
            case answer(String)
        }

        public var pieces: [Piece] = []
        public var promptTokens: Int?
        public var completionTokens: Int?

        /// Equal byte for byte (`==` takes canonically equivalent texts as equal): how the
        /// scanner's chunks are held to Foundation's.
        public func isIdentical(to other: Chunk) -> Bool {
            func bytes(_ piece: Piece) -> (Bool, [UInt8]) {
                switch piece {
                case .thinking(let text): (true, Array(text.utf8))
                case .answer(let text): (false, Array(text.utf8))
                }
            }
            return promptTokens == other.promptTokens && completionTokens == other.completionTokens
                && pieces.count == other.pieces.count && zip(pieces, other.pieces).allSatisfy { bytes($0) == bytes($1) }
        }
    }

    /// One event's data; nil for `[DONE]`. An event that is not a JSON object, or that carries
    /// an `error`, is a failure of the stream.
    public static func decode(_ data: String) throws(BackendError) -> Chunk? {
        if data == "[DONE]" { return nil }
        if let chunk = ChatChunkScanner.scan(data) { return chunk }  // one token's event, without Foundation's cost
        return try decodeWithFoundation(data)
    }

    /// `decode` through `JSONSerialization`: the reference the scanner must match, and the path
    /// for whatever it leaves (failures, errors, unusual shapes).
    public static func decodeWithFoundation(_ data: String) throws(BackendError) -> Chunk? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
            throw BackendError(.malformed, "an event that is not JSON: \(data.prefix(200))")
        }
        if let error = object["error"], !(error is NSNull) {
            throw BackendError(.http, "the server reported an error mid-stream: \(HTTPStreamClient.errorMessage(data))")
        }
        var chunk = Chunk()
        if let usage = object["usage"] as? [String: Any] {
            // A count the log can believe: a whole number, not below zero.
            chunk.promptTokens = (usage["prompt_tokens"] as? Int).flatMap { $0 >= 0 ? $0 : nil }
            chunk.completionTokens = (usage["completion_tokens"] as? Int).flatMap { $0 >= 0 ? $0 : nil }
        }
        for choice in object["choices"] as? [[String: Any]] ?? [] {
            guard let delta = choice["delta"] as? [String: Any] else { continue }
            // Either name; one may be present as null beside the other.
            if let thought = (delta["reasoning_content"] as? String) ?? (delta["reasoning"] as? String), !thought.isEmpty {
                chunk.pieces.append(.thinking(thought))
            }
            if let content = delta["content"] as? String, !content.isEmpty {
                chunk.pieces.append(.answer(content))
            }
        }
        return chunk
    }

    /// The request body's fields for the messages and sampling every chat server takes.
    static func body(
        model: String, turns: [ChatTurn], maxTokens: Int, temperature: Double?, topP: Double?
    ) -> [String: Any] {
        var body: [String: Any] = [
            "model": model,
            "stream": true,
            "stream_options": ["include_usage": true],
            "messages": turns.map { ["role": $0.role, "content": $0.text] },
            "max_tokens": maxTokens,
        ]
        if let temperature { body["temperature"] = temperature }
        if let topP { body["top_p"] = topP }
        return body
    }

    static func encode(_ body: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }
}
