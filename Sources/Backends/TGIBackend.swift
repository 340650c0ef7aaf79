import Config
import Foundation

/// A text-generation-inference server. By default its Messages API
/// (`POST {base_url}/v1/chat/completions`, TGI ≥ 1.4), which applies the model's own chat
/// template; with `api: generate`, `POST {base_url}/generate_stream` with the prompt laid out by
/// `message_template`, for older servers. Either way each non-special token's text is an item
/// and the prompt is never echoed.
public struct TGIBackend: Backend {
    public let config: TGIBackendConfig
    private let http: HTTPStreamClient

    public var kind: String { "tgi" }

    /// `connections`: the pool's size when the config does not set `max_connections`.
    public init(_ config: TGIBackendConfig, connections: Int = 8) {
        self.config = config
        self.http = HTTPStreamClient(config.http, connections: connections)
    }

    public func shutdown() async { await http.shutdown() }

    func prompt(_ request: GenerationRequest) -> String {
        request.chatTurns(system: config.systemPrompt).map { turn in
            config.messageTemplate.replacingOccurrences(of: "{role}", with: turn.role).replacingOccurrences(of: "{text}", with: turn.text)
        }.joined() + config.assistantPrefix
    }

    /// The path and body of one request, capped at `maxTokens` new tokens.
    func request(_ request: GenerationRequest, maxTokens: Int? = nil) -> (path: String, body: [String: Any]) {
        let maxTokens = maxTokens ?? config.maxNewTokens
        switch config.api {
        case .messages:
            // TGI ignores `model`; it only has the one it serves.
            var body = ChatCompletionStream.body(
                model: "tgi", turns: request.chatTurns(system: config.systemPrompt),
                maxTokens: maxTokens, temperature: config.temperature, topP: config.topP
            )
            if !config.stop.isEmpty { body["stop"] = config.stop }
            if let seed = config.seed { body["seed"] = seed }
            return ("/v1/chat/completions", body)
        case .generate:
            var parameters: [String: Any] = ["max_new_tokens": maxTokens, "details": true]
            if let temperature = config.temperature { parameters["temperature"] = temperature; parameters["do_sample"] = true }
            if let topP = config.topP { parameters["top_p"] = topP }
            if let topK = config.topK { parameters["top_k"] = topK }
            if let penalty = config.repetitionPenalty { parameters["repetition_penalty"] = penalty }
            if let seed = config.seed { parameters["seed"] = seed }
            if !config.stop.isEmpty { parameters["stop"] = config.stop }
            return ("/generate_stream", ["inputs": prompt(request), "parameters": parameters, "stream": true])
        }
    }

    public func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems {
        let (path, fields) = self.request(request)
        let body = ChatCompletionStream.encode(fields)
        switch config.api {
        case .messages:
            let chat = ChatCompletionStream(http: http, path: path, reasoning: .drop)
            return GenerationStream { send in
                try await chat.run(body: body, headers: [:], report: report, send: send)
            }
        case .generate:
            return GenerationStream { [http] send in
                try await Self.generateStream(http: http, path: path, body: body, report: report, send: send)
            }
        }
    }

    /// `/generate_stream`: one event per token, no `[DONE]`; the last event has
    /// `generated_text`.
    static func generateStream(
        http: HTTPStreamClient, path: String, body: Data, report: GenerationReport, send: @Sendable (String) async -> Void
    ) async throws {
        var finished = false
        try await http.streamEvents(path: path, body: body, headers: [:]) { data in
            guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
                throw BackendError(.malformed, "an event that is not JSON: \(data.prefix(200))")
            }
            if let error = object["error"], !(error is NSNull) {
                throw BackendError(.http, "the server reported: \(HTTPStreamClient.errorMessage(data))")
            }
            guard let token = object["token"] as? [String: Any] else {
                throw BackendError(.malformed, "an event without a token: \(data.prefix(200))")
            }
            if token["special"] as? Bool != true, let text = token["text"] as? String, !text.isEmpty {
                await send(text)
            }
            if let generated = object["generated_text"], !(generated is NSNull) {
                finished = true
                if let details = object["details"] as? [String: Any] {
                    report.recordUsage(prompt: nil, completion: (details["generated_tokens"] as? Int).flatMap { $0 >= 0 ? $0 : nil })
                }
            }
            return true
        }
        if !finished { throw BackendError(.closedEarly, "the stream ended before the final event (generated_text)") }
    }

    public var server: BackendServer? {
        BackendServer(http: http, model: "tgi", headers: [:]) { [self] question, maxTokens in
            let (path, fields) = request(question, maxTokens: maxTokens)
            return (path, ChatCompletionStream.encode(fields))
        }
    }
}
