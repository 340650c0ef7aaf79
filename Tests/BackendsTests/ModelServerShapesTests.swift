import Config
import Foundation
import Hummingbird
import Testing
@testable import Backends

/// The stream shapes of today's model servers (MODEL-SERVERS.md §3–§4, §8), as recorded, through
/// the backends: a reasoning model's thinking in either field name, TGI's Messages API, the
/// request fields a config adds.
@Suite struct ModelServerShapesTests {
    let request = GenerationRequest(roles: ["user"], messages: ["question_text=%2445%2B7%3D%24&question_markdown=&question_type="])
    let shapes = HTTPBackendTests()

    /// vLLM ≥ 0.11.1 (`reasoning`), and SGLang, llama.cpp and older vLLM (`reasoning_content`).
    static func reasoningStream(field: String) -> [[UInt8]] {
        FakeStreamServer.dataEvents([
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"\#(field)":"Let me add"},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"\#(field)":" 45 and 7: 52."},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"content":"\n\nSo the final answer is: 52"},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}"#,
            #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[],"usage":{"prompt_tokens":31,"completion_tokens":12,"total_tokens":43,"completion_tokens_details":{"reasoning_tokens":8}}}"#,
        ])
    }

    func openAI(_ reasoning: ReasoningMode, extraBody: [String: ConfigValue] = [:]) -> @Sendable (HTTPBackendConfig) -> OpenAIBackend {
        { http in
            var config = OpenAIBackendConfig(http: HTTPBackendConfig(baseURL: http.baseURL + "/v1"), model: "qwen3")
            config.reasoning = reasoning
            config.extraBody = extraBody
            return OpenAIBackend(config)
        }
    }

    @Test(arguments: ["reasoning", "reasoning_content"])
    func dropStreamsOnlyTheAnswerAndCountsTheThinking(field: String) async throws {
        try await shapes.withServer(.init(pieces: Self.reasoningStream(field: field)), make: openAI(.drop)) { backend, server in
            let report = GenerationReport()
            let items = try await shapes.collect(backend.generate(request, report: report))
            #expect(items == ["\n\nSo the final answer is: 52"])
            #expect(report.reasoningItems == 2)
            #expect(report.reasoningTime != nil)
            #expect(report.completionTokens == 12)
            #expect(server.lastBody["chat_template_kwargs"] == nil)
        }
    }

    @Test(arguments: ["reasoning", "reasoning_content"])
    func streamSendsTheThinkingFirst(field: String) async throws {
        try await shapes.withServer(.init(pieces: Self.reasoningStream(field: field)), make: openAI(.stream)) { backend, _ in
            let report = GenerationReport()
            let items = try await shapes.collect(backend.generate(request, report: report))
            #expect(items == ["Let me add", " 45 and 7: 52.", "\n\nSo the final answer is: 52"])
            #expect(report.reasoningItems == 2)
        }
    }

    /// One field null beside the other (a server that sets both names); a usage count below
    /// zero is not believed.
    @Test func aNullReasoningFieldBesideTheOtherIsRead() async throws {
        let chunk = try #require(try ChatCompletionStream.decode(
            #"{"choices":[{"delta":{"reasoning_content":null,"reasoning":"hm"}}],"usage":{"prompt_tokens":-5,"completion_tokens":3}}"#
        ))
        #expect(chunk.pieces == [.thinking("hm")])
        #expect(chunk.promptTokens == nil && chunk.completionTokens == 3)
    }

    /// A line that never ends: the stream fails once an event passes 1 MiB, instead of growing
    /// the worker's memory with it.
    @Test func anEventThatNeverEndsIsRefused() async throws {
        let line = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
        let pieces = [line] + Array(repeating: [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10), count: 40)
        try await shapes.withServer(.init(pieces: pieces, gap: .zero), make: openAI(.drop)) { backend, _ in
            let error = await shapes.failure(backend.generate(request))
            #expect(error?.kind == .malformed && error?.message == "an event longer than 1 MiB", "\(String(describing: error))")
        }
    }

    /// `disable` asks the chat template not to think, keeping what `extra_body` puts beside it.
    @Test func disableAndExtraBodyReachTheServer() async throws {
        let extra: [String: ConfigValue] = [
            "top_k": .int(20), "min_p": .double(0.05), "seed": .int(7), "stop": .array([.string("</s>")]),
            "chat_template_kwargs": .object(["custom": .string("x")]), "max_tokens": .int(300),
        ]
        let pieces = FakeStreamServer.openAIEvents(["So the final answer is: 52"])
        try await shapes.withServer(.init(pieces: pieces), make: openAI(.disable, extraBody: extra)) { backend, server in
            _ = try await shapes.collect(backend.generate(request))
            let body = server.lastBody
            #expect(body["top_k"] as? Int == 20)
            #expect(body["min_p"] as? Double == 0.05)
            #expect(body["seed"] as? Int == 7)
            #expect(body["stop"] as? [String] == ["</s>"])
            #expect(body["max_tokens"] as? Int == 300, "extra_body wins over the default max_tokens")
            let kwargs = try #require(body["chat_template_kwargs"] as? [String: Any])
            #expect(kwargs["enable_thinking"] as? Bool == false)
            #expect(kwargs["custom"] as? String == "x")
            #expect(body["stream"] as? Bool == true)
        }
    }

    @Test func maxTokensHasADefault() async throws {
        try await shapes.withServer(.init(pieces: FakeStreamServer.openAIEvents(["a"])), make: openAI(.drop)) { backend, server in
            _ = try await shapes.collect(backend.generate(request))
            #expect(server.lastBody["max_tokens"] as? Int == OpenAIBackendConfig.defaultMaxTokens)
        }
    }

    /// TGI's Messages API: an empty `id`, the role on every delta, `finish_reason`
    /// `stop_sequence`, `"usage": null` on the token chunks (router/src/chat.rs).
    @Test func tgiMessagesAPIIsTheDefault() async throws {
        let pieces = FakeStreamServer.dataEvents([
            #"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[{"index":0,"delta":{"role":"assistant","content":"45"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
            #"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[{"index":0,"delta":{"role":"assistant","content":" + 7 = 52. So the final answer is: 52"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
            #"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"stop_sequence"}],"usage":null}"#,
            #"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":14,"total_tokens":54}}"#,
        ])
        let make: @Sendable (HTTPBackendConfig) -> TGIBackend = { http in
            var config = TGIBackendConfig(http: http)
            config.maxNewTokens = 200
            config.seed = 3
            config.stop = ["<|im_end|>"]
            return TGIBackend(config)
        }
        try await shapes.withServer(.init(pieces: pieces), make: make) { backend, server in
            let report = GenerationReport()
            let items = try await shapes.collect(backend.generate(request, report: report))
            #expect(items == ["45", " + 7 = 52. So the final answer is: 52"])
            #expect(report.completionTokens == 14)
            let sent = server.requests.withLock { $0.last! }
            #expect(sent.path == "/v1/chat/completions")
            let body = server.lastBody
            #expect(body["max_tokens"] as? Int == 200)
            #expect(body["seed"] as? Int == 3)
            #expect(body["stop"] as? [String] == ["<|im_end|>"])
            let messages = try #require(body["messages"] as? [[String: String]])
            #expect(messages.map { $0["role"]! } == ["system", "user"])
            #expect(messages.last?["content"] == "$45+7=$")
        }
    }

    /// An `error` object inside a started stream ends it as a backend error (TGI's chat shape).
    @Test func anErrorInsideTheStreamIsAFailure() async throws {
        let pieces = FakeStreamServer.dataEvents([#"{"error":{"message":"Request failed during generation: out of memory","http_status_code":422}}"#])
        try await shapes.withServer(.init(pieces: pieces), make: { TGIBackend(TGIBackendConfig(http: $0)) }) { backend, _ in
            let error = await shapes.failure(backend.generate(request))
            #expect(error?.kind == .http)
            #expect(error?.message.contains("out of memory") == true)
        }
    }
}

/// `max_batch_tokens` counts with the server's `/tokenize`, whatever its answer's shape, and
/// stops asking a server that has none.
@Suite struct TokenCounterTests {
    let shapes = HTTPBackendTests()

    func counter(answering body: String, status: HTTPResponse.Status = .ok, _ check: @escaping @Sendable (TokenCounter, FakeStreamServer) async throws -> Void) async throws {
        let script = FakeStreamServer.Script(status: status, errorBody: body, pieces: [Array(body.utf8)], gap: .zero)
        try await shapes.withServer(script, make: { http in
            OpenAIBackend(OpenAIBackendConfig(http: HTTPBackendConfig(baseURL: http.baseURL + "/v1"), model: "qwen3"))
        }) { backend, server in
            try await check(TokenCounter(server: try #require(backend.server)), server)
        }
    }

    @Test(arguments: [
        (#"{"count":3,"max_model_len":8192,"tokens":[1,2,3],"token_strs":null}"#, 3),  // vLLM, SGLang
        (#"{"tokens":[15,16]}"#, 2),  // llama.cpp
        (#"[{"id":1,"text":"a","start":0,"stop":1}]"#, 1),  // TGI
    ])
    func everyServersAnswerIsRead(body: String, expected: Int) async throws {
        try await counter(answering: body) { counter, server in
            #expect(await counter.count(" answer") == expected)
            #expect(await counter.count(" answer") == expected)
            #expect(server.requests.withLock { $0.count } == 1, "a piece's count is remembered")
            let sent = server.requests.withLock { $0[0] }
            #expect(sent.path == "/tokenize")
            let fields = try #require(try JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
            #expect(fields["prompt"] as? String == " answer" && fields["content"] as? String == " answer" && fields["inputs"] as? String == " answer")
        }
    }

    @Test func aServerWithoutTokenizeCountsItems() async throws {
        try await counter(answering: "404 page not found", status: .notFound) { counter, server in
            #expect(await counter.count("two words") == 1)
            #expect(await counter.count("other") == 1)
            #expect(server.requests.withLock { $0.count } == 1, "asked once, then never again")
        }
    }
}

/// Side requests never wait for a stream's connection: with every streaming connection busy
/// (here the only one), `/tokenize` still answers.
@Suite struct SidePoolTests {
    @Test func tokenizeIsAnsweredWhileEveryStreamConnectionIsBusy() async throws {
        let router = Router()
        router.post("v1/chat/completions") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init { writer in
                try await writer.write(ByteBuffer(bytes: FakeStreamServer.openAIEvents(["first"], usage: false, done: false)[0]))
                try? await Task.sleep(for: .seconds(5))  // holds the connection past the count's 2 s
                try await writer.finish(nil)
            })
        }
        router.post("tokenize") { _, _ in #"{"count":2,"tokens":[1,2]}"# }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            var http = HTTPBackendConfig(baseURL: "http://127.0.0.1:\(client.port!)/v1")
            http.maxConnections = 1
            let backend = OpenAIBackend(OpenAIBackendConfig(http: http, model: "m"))
            var items = backend.generate(GenerationRequest(roles: ["user"], messages: ["q"])).makeAsyncIterator()
            #expect(try await items.next() == "first")
            let counter = TokenCounter(server: try #require(backend.server))
            // Through the streams' pool this would wait 2 s for the connection, then count 1.
            #expect(await counter.count("ab") == 2)
            _ = consume items
            await backend.shutdown()
        }
    }
}
