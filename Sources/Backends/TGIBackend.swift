import Config
import Foundation

/// `POST {base_url}/generate_stream` of a text-generation-inference server: each non-special
/// token's text is an item. The prompt is the conversation laid out by the template; the
/// server's stream holds only new tokens, so the prompt is never echoed.
public struct TGIBackend: Backend {
    public let config: TGIBackendConfig
    private let http: HTTPStreamClient

    public var kind: String { "tgi" }

    public init(_ config: TGIBackendConfig) {
        self.config = config
        self.http = HTTPStreamClient(config.http)
    }

    public func shutdown() async { await http.shutdown() }

    func prompt(_ request: GenerationRequest) -> String {
        request.chatTurns(system: config.systemPrompt).map { turn in
            config.messageTemplate.replacingOccurrences(of: "{role}", with: turn.role).replacingOccurrences(of: "{text}", with: turn.text)
        }.joined() + config.assistantPrefix
    }

    func body(_ request: GenerationRequest) -> [String: Any] {
        var parameters: [String: Any] = ["max_new_tokens": config.maxNewTokens, "details": true]
        if let temperature = config.temperature { parameters["temperature"] = temperature; parameters["do_sample"] = true }
        if let topP = config.topP { parameters["top_p"] = topP }
        if let topK = config.topK { parameters["top_k"] = topK }
        if let penalty = config.repetitionPenalty { parameters["repetition_penalty"] = penalty }
        if !config.stop.isEmpty { parameters["stop"] = config.stop }
        return ["inputs": prompt(request), "parameters": parameters, "stream": true]
    }

    public func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems {
        let body = (try? JSONSerialization.data(withJSONObject: body(request), options: [.sortedKeys])) ?? Data()
        return GenerationStream { [http] send in
            var finished = false
            try await http.streamEvents(path: "/generate_stream", body: body, headers: [:]) { data in
                guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
                    throw BackendError(.malformed, "an event that is not JSON: \(data.prefix(200))")
                }
                if let error = object["error"] as? String { throw BackendError(.http, "the server reported: \(error)") }
                guard let token = object["token"] as? [String: Any] else {
                    throw BackendError(.malformed, "an event without a token: \(data.prefix(200))")
                }
                if token["special"] as? Bool != true, let text = token["text"] as? String, !text.isEmpty {
                    await send(text)
                }
                // The last event carries the whole text in generated_text.
                if let generated = object["generated_text"], !(generated is NSNull) {
                    finished = true
                    if let details = object["details"] as? [String: Any] {
                        report.recordUsage(prompt: nil, completion: details["generated_tokens"] as? Int)
                    }
                }
                return true
            }
            if !finished { throw BackendError(.closedEarly, "the stream ended before the final event (generated_text)") }
        }
    }
}
