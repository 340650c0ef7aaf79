import Config
import Foundation

/// `POST {base_url}/chat/completions` with `stream: true`: each content delta is an item.
public struct OpenAIBackend: Backend {
    public let config: OpenAIBackendConfig
    private let http: HTTPStreamClient

    public var kind: String { "openai" }

    public init(_ config: OpenAIBackendConfig) {
        self.config = config
        self.http = HTTPStreamClient(config.http)
    }

    /// Why the backend cannot work in this environment (its API key variable is unset), or nil.
    public static func problem(_ config: OpenAIBackendConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let variable = config.apiKeyEnv else { return nil }
        return environment[variable]?.isEmpty == false ? nil : "backend.api_key_env: the environment variable \(variable) is not set"
    }

    public func shutdown() async { await http.shutdown() }

    func body(_ request: GenerationRequest) -> [String: Any] {
        var body: [String: Any] = [
            "model": config.model,
            "stream": true,
            "stream_options": ["include_usage": true],
            "messages": request.chatTurns(system: config.systemPrompt).map { ["role": $0.role, "content": $0.text] },
        ]
        if let temperature = config.temperature { body["temperature"] = temperature }
        if let topP = config.topP { body["top_p"] = topP }
        if let maxTokens = config.maxTokens { body["max_tokens"] = maxTokens }
        return body
    }

    public func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems {
        let body = (try? JSONSerialization.data(withJSONObject: body(request), options: [.sortedKeys])) ?? Data()
        var headers: [String: String] = [:]
        if let variable = config.apiKeyEnv, let key = ProcessInfo.processInfo.environment[variable] {
            headers["Authorization"] = "Bearer \(key)"
        }
        return GenerationStream { [http, headers] send in
            var finished = false
            try await http.streamEvents(path: "/chat/completions", body: body, headers: headers) { data in
                if data == "[DONE]" {
                    finished = true
                    return false
                }
                guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
                    throw BackendError(.malformed, "an event that is not JSON: \(data.prefix(200))")
                }
                if let error = object["error"] {
                    throw BackendError(.http, "the server reported an error mid-stream: \(error)")
                }
                if let usage = object["usage"] as? [String: Any] {
                    report.recordUsage(prompt: usage["prompt_tokens"] as? Int, completion: usage["completion_tokens"] as? Int)
                }
                for choice in object["choices"] as? [[String: Any]] ?? [] {
                    if let delta = choice["delta"] as? [String: Any], let content = delta["content"] as? String, !content.isEmpty {
                        await send(content)
                    }
                }
                return true
            }
            if !finished { throw BackendError(.closedEarly, "the stream ended without data: [DONE]") }
        }
    }
}
