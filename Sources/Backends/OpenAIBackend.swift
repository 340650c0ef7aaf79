import Config
import Foundation

/// `POST {base_url}/chat/completions` with `stream: true`: each content delta is an item.
public struct OpenAIBackend: Backend {
    public let config: OpenAIBackendConfig
    private let http: HTTPStreamClient

    public var kind: String { "openai" }

    /// `connections`: the pool's size when the config does not set `max_connections`.
    public init(_ config: OpenAIBackendConfig, connections: Int = 8) {
        self.config = config
        self.http = HTTPStreamClient(config.http, connections: connections)
    }

    /// Why the backend cannot work in this environment (its API key variable is unset), or nil.
    public static func problem(_ config: OpenAIBackendConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let variable = config.apiKeyEnv else { return nil }
        return environment[variable]?.isEmpty == false ? nil : "backend.api_key_env: the environment variable \(variable) is not set"
    }

    public func shutdown() async { await http.shutdown() }

    /// The request's body; `maxTokens` caps it below anything the config says (the warm-up).
    func body(_ request: GenerationRequest, maxTokens: Int? = nil) -> [String: Any] {
        var body = ChatCompletionStream.body(
            model: config.model, turns: request.chatTurns(system: config.systemPrompt),
            maxTokens: config.maxTokens, temperature: config.temperature, topP: config.topP
        )
        for (key, value) in config.extraBody { body[key] = value.jsonObject }
        if let maxTokens { body["max_tokens"] = maxTokens }
        if config.reasoning == .disable {
            var kwargs = body["chat_template_kwargs"] as? [String: Any] ?? [:]
            kwargs["enable_thinking"] = false
            body["chat_template_kwargs"] = kwargs
        }
        return body
    }

    private var headers: [String: String] {
        guard let variable = config.apiKeyEnv, let key = ProcessInfo.processInfo.environment[variable] else { return [:] }
        return ["Authorization": "Bearer \(key)"]
    }

    private var chat: ChatCompletionStream {
        ChatCompletionStream(http: http, path: "/chat/completions", reasoning: config.reasoning)
    }

    public func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems {
        let body = ChatCompletionStream.encode(body(request))
        return GenerationStream { [chat, headers] send in
            try await chat.run(body: body, headers: headers, report: report, send: send)
        }
    }

    public var server: BackendServer? {
        BackendServer(http: http, model: config.model, headers: headers) { [self] request, maxTokens in
            (path: "/chat/completions", body: ChatCompletionStream.encode(body(request, maxTokens: maxTokens)))
        }
    }
}
