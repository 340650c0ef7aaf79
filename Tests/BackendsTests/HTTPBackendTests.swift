import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Streaming
import Testing
@testable import Backends

@Suite struct HTTPBackendTests {
    let request = GenerationRequest(
        roles: ["user", "assistant", "user"],
        messages: ["earlier question", "earlier answer", "question_text=What+is+2%2B2%3F&question_type=arithmetic"]
    )

    /// Runs `body` with a backend of `make` pointed at a fake server following `script`.
    func withServer<B: Backend>(
        _ script: FakeStreamServer.Script, make: @escaping @Sendable (HTTPBackendConfig) -> B,
        idleTimeout: Double = 5, _ body: @escaping @Sendable (B, FakeStreamServer) async throws -> Void
    ) async throws {
        let server = FakeStreamServer(script)
        try await server.application().test(.live) { client in
            var http = HTTPBackendConfig(baseURL: "http://127.0.0.1:\(client.port!)")
            http.idleTimeout = idleTimeout
            let backend = make(http)
            do {
                try await body(backend, server)
            } catch {
                await backend.shutdown()
                throw error
            }
            await backend.shutdown()
        }
    }

    static func openAI(_ http: HTTPBackendConfig) -> OpenAIBackend {
        var config = OpenAIBackendConfig(http: HTTPBackendConfig(baseURL: http.baseURL + "/v1"), model: "smollm2")
        config.http.idleTimeout = http.idleTimeout
        config.temperature = 0.2
        config.maxTokens = 64
        config.apiKeyEnv = "MINERS_TEST_API_KEY"
        return OpenAIBackend(config)
    }

    static func tgi(_ http: HTTPBackendConfig) -> TGIBackend {
        var config = TGIBackendConfig(http: http)
        config.api = .generate
        return TGIBackend(config)
    }

    func collect(_ items: BackendItems) async throws -> [String] {
        var all: [String] = []
        for try await item in items { all.append(item) }
        return all
    }

    @Test func openAIDeltasAreTheItems() async throws {
        setenv("MINERS_TEST_API_KEY", "sk-test", 1)
        var pieces = FakeStreamServer.openAIEvents(["The answer", " is 4", ". So the final answer is: 4"])
        pieces.insert(Array(": ping\n\n".utf8), at: 1)
        // A character split across two writes.
        let split = Array(#"data: {"choices":[{"index":0,"delta":{"content":" ü"}}]}"#.utf8) + [10, 10]
        let cut = split.firstIndex(of: 0xC3)! + 1
        pieces.insert(contentsOf: [Array(split[..<cut]), Array(split[cut...])], at: 3)
        try await withServer(.init(pieces: pieces), make: Self.openAI) { backend, server in
            let items = try await collect(backend.generate(request))
            #expect(items == ["The answer", " is 4", " ü", ". So the final answer is: 4"])
            let body = server.lastBody
            #expect(body["model"] as? String == "smollm2")
            #expect(body["stream"] as? Bool == true)
            #expect((body["stream_options"] as? [String: Bool]) == ["include_usage": true])
            #expect(body["max_tokens"] as? Int == 64)
            let messages = body["messages"] as! [[String: String]]
            #expect(messages.map { $0["role"]! } == ["system", "user", "assistant", "user"])
            #expect(messages.last?["content"] == "What is 2+2?")
            #expect(messages.first?["content"]?.contains("So the final answer is") == true)
            #expect(server.lastHeaders[.authorization] == "Bearer sk-test")
        }
    }

    @Test func tgiSkipsSpecialTokensAndNeverEchoesThePrompt() async throws {
        let pieces = FakeStreamServer.tgiEvents([("The", false), (" answer", false), (" is 4", false), ("</s>", true)])
        try await withServer(.init(pieces: pieces), make: Self.tgi) { backend, server in
            let items = try await collect(backend.generate(request))
            #expect(items == ["The", " answer", " is 4"])
            let body = server.lastBody
            let prompt = body["inputs"] as! String
            #expect(prompt.hasPrefix("system: You are a careful mathematician"))
            #expect(prompt.hasSuffix("user: earlier question\nassistant: earlier answer\nuser: What is 2+2?\nassistant: "))
            #expect((body["parameters"] as? [String: Any])?["max_new_tokens"] as? Int == 512)
        }
    }

    func failure(_ items: BackendItems) async -> BackendError? {
        do {
            for try await _ in items {}
            return nil
        } catch {
            return error as? BackendError
        }
    }

    @Test func faultsBecomeBackendErrors() async throws {
        let unauthorized = FakeStreamServer.Script(status: .unauthorized, errorBody: #"{"error":{"message":"Invalid API key","type":"invalid_request_error"}}"#)
        try await withServer(unauthorized, make: Self.openAI) { backend, _ in
            let error = await failure(backend.generate(request))
            #expect(error?.kind == .http)
            #expect(error?.message.hasSuffix("answered 401: Invalid API key") == true)
        }
        try await withServer(.init(pieces: [Array("data: {not json\n\n".utf8)]), make: Self.openAI) { backend, _ in
            #expect(await failure(backend.generate(request))?.kind == .malformed)
        }
        try await withServer(.init(pieces: FakeStreamServer.openAIEvents(["a"], done: false)), make: Self.openAI) { backend, _ in
            #expect(await failure(backend.generate(request))?.kind == .closedEarly)
        }
        try await withServer(.init(pieces: FakeStreamServer.tgiEvents([("a", false)], final: false)), make: Self.tgi) { backend, _ in
            #expect(await failure(backend.generate(request))?.kind == .closedEarly)
        }
        try await withServer(.init(pieces: FakeStreamServer.openAIEvents(["a"], usage: false, done: false), stallAfter: true),
                             make: Self.openAI, idleTimeout: 0.3) { backend, _ in
            let error = await failure(backend.generate(request))
            #expect(error?.kind == .stalled, "\(String(describing: error))")
        }
        // Nothing listens on port 9 of loopback; the client retries until connect_timeout.
        var unreachable = HTTPBackendConfig(baseURL: "http://127.0.0.1:9/v1")
        unreachable.connectTimeout = 0.5
        let refused = OpenAIBackend(OpenAIBackendConfig(http: unreachable, model: "m"))
        #expect(await failure(refused.generate(request))?.kind == .unreachable)
        await refused.shutdown()
    }

    /// A timeout in the engine cancels the generation, and the server sees its client go.
    @Test func theDeadlineClosesTheBackendRequest() async throws {
        // 400 items 20 ms apart: 8 s to the end, against a deadline at 1 s.
        let pieces = FakeStreamServer.openAIEvents((0..<400).map { "w\($0) " })
        try await withServer(.init(pieces: pieces, gap: .milliseconds(20)), make: Self.openAI) { backend, server in
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(1)
            let summary = await StreamingEngine(batchSize: 4).run(items: backend.generate(request), deadline: deadline, clock: clock) { _ in }
            #expect(summary.end == .timedOut)
            #expect(summary.itemsGenerated > 0 && summary.itemsGenerated < 200)
            for _ in 0..<300 where server.clientGoneAt.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            let gone = try #require(server.clientGoneAt.withLock { $0 }, "the server never saw the request close")
            // Typically 20-40 ms (the server notices at its next write, 20 ms apart); a request
            // left open would be seen gone only at the end, 7 s later. The bound is far from both.
            #expect(gone - deadline < .seconds(2))
        }
    }
}

@Suite struct OpenAIConfigTests {
    @Test func aMissingAPIKeyVariableIsNamed() {
        var config = OpenAIBackendConfig(http: HTTPBackendConfig(baseURL: "http://127.0.0.1:1/v1"), model: "m")
        #expect(OpenAIBackend.problem(config, environment: [:]) == nil)
        config.apiKeyEnv = "MY_KEY"
        #expect(OpenAIBackend.problem(config, environment: [:]) == "backend.api_key_env: the environment variable MY_KEY is not set")
        #expect(OpenAIBackend.problem(config, environment: ["MY_KEY": "sk"]) == nil)
    }
}
