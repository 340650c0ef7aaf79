import Foundation
import TestSupport
import Testing
@testable import Config

@Suite struct ConfigTests {
    static let repository = Fixtures.repository
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"

    /// The model-server example parses and says what its comments say.
    @Test func theShippedModelServerConfig() throws {
        let config = try MinersConfig.load(path: Self.repository.appendingPathComponent("configs/model-servers.yaml").path)
        #expect(config.miners.map(\.backend.kind) == ["openai", "openai", "tgi"])
        #expect(config.miners.allSatisfy { $0.batchBounds.maxTokens == 200 && $0.admission.maxConcurrentStreams == 64 })
        guard case .openai(let vllm) = try config.miner(named: "vllm-qwen3").backend,
              case .openai(let ollama) = try config.miner(named: "ollama-qwen3").backend,
              case .tgi(let tgi) = try config.miner(named: "tgi-qwen25").backend else {
            Issue.record("wrong backend kinds")
            return
        }
        #expect(vllm.reasoning == .disable && vllm.http.warmup && vllm.extraBody["top_k"] == .int(20))
        #expect(ollama.http.keepAlive == .seconds(-1) && ollama.http.rootURL == "http://127.0.0.1:11434")
        #expect(try config.miner(named: "ollama-qwen3").batchBounds.maxChars == 600)
        #expect(tgi.api == .messages)
    }

    @Test func theShippedLocalConfigHasThreeMockMiners() throws {
        let config = try MinersConfig.load(path: Self.repository.appendingPathComponent("configs/local.yaml").path)
        #expect(config.database == "var/local.sqlite")
        #expect(config.miners.map(\.name) == ["alpha", "bravo", "charlie"])
        #expect(Set(config.miners.map(\.port)).count == 3)
        #expect(Set(config.miners.map(\.streamingBatchSize)).count == 3)
        #expect(config.miners.allSatisfy { $0.backend.kind == "mock" })
        let alpha = try config.miner(named: "alpha")
        #expect(alpha.host == "127.0.0.1")
        #expect(alpha.synapses == ["StreameinsteinSynapse"])
        #expect(alpha.timeout == .request)
        #expect(alpha.stopOnForwardException == false)
        #expect(alpha.maxBodyBytes == 1 << 20)
        #expect(try config.miner(named: "charlie").timeout == .fixed(seconds: 8))
    }

    @Test func fieldsAndDefaults() throws {
        let config = try MinersConfig.parse(yaml: """
            miners:
              - name: m
                hotkey: \(alice)
                host: 0.0.0.0
                port: 9000
                synapses: [StreameinsteinSynapse, StreamCoreSynapse]
                streaming_batch_size: 5
                timeout: 2.5
                stop_on_forward_exception: true
                max_body_bytes: 4096
                backend: {kind: mock, text: "hi there", delay_ms: 7, fail_after: 1}
            """, file: "x.yaml")
        #expect(config.database == "miners.sqlite")
        #expect(config.miners == [MinerConfig(
            name: "m", hotkey: alice, host: "0.0.0.0", port: 9000, synapses: ["StreameinsteinSynapse", "StreamCoreSynapse"],
            streamingBatchSize: 5, timeout: .fixed(seconds: 2.5), stopOnForwardException: true, maxBodyBytes: 4096,
            backend: .mock(MockBackendConfig(text: "hi there", delayMilliseconds: 7, failAfter: 1))
        )])
    }

    func error(_ yaml: String) -> String {
        do {
            _ = try MinersConfig.parse(yaml: yaml, file: "c.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    func miner(_ fields: String) -> String {
        "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: mock}\n" + fields
    }

    @Test func errorsNameFileLineMinerAndField() {
        #expect(error("miners:\n  - name: m\n    hotkey: \(alice)\n    port: 70000\n    backend: {kind: mock}\n")
            == "c.yaml:4: miner 'm': field 'port': expected an integer from 1 to 65535, got '70000'")
        #expect(error(miner("    streaming_batch_size: 0\n"))
            == "c.yaml:6: miner 'm': field 'streaming_batch_size': expected an integer from 1 to 100000, got '0'")
        #expect(error(miner("    stream_batch_size: 4\n")).hasPrefix(
            "c.yaml:6: miner 'm': unknown key 'stream_batch_size' (did you mean 'streaming_batch_size'?); expected one of: name, hotkey"))
        #expect(error(miner("    timeout: soon\n"))
            == "c.yaml:6: miner 'm': field 'timeout': expected 'request' (use the request's timeout) or a number of seconds above 0 and at most 3600, got 'soon'")
        #expect(error("miners:\n  - name: m\n    hotkey: \(alice)\n    backend: {kind: mock}\n")
            == "c.yaml:2: miner 'm': field 'port': is required: a TCP port")
        #expect(error("miners:\n  - name: m\n    hotkey: \(alice)\n    port: 1\n    backend: {kind: gpt}\n")
            == "c.yaml:5: miner 'm': field 'backend.kind': unknown backend 'gpt'; expected one of: mock, openai, tgi")
        #expect(error("miners:\n  - name: m\n    hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ0\n    port: 1\n    backend: {kind: mock}\n")
            == "c.yaml:3: miner 'm': field 'hotkey': '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ0' is not a valid SS58 address: '0' is not a base58 character")
        #expect(error("miners:\n  - name: m\n    hotkey: 5Grwva\n    port: 1\n    backend: {kind: mock}\n")
            == "c.yaml:3: miner 'm': field 'hotkey': '5Grwva' is not a valid SS58 address: it decodes to 4 bytes; an account address has 35")
        let badChecksum = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ"
        #expect(error("miners:\n  - name: m\n    hotkey: \(badChecksum)\n    port: 1\n    backend: {kind: mock}\n")
            == "c.yaml:3: miner 'm': field 'hotkey': '\(badChecksum)' is not a valid SS58 address: its checksum does not match (a mistyped character?)")
    }

    @Test func listLevelErrors() {
        #expect(error("database: x.sqlite\n") == "c.yaml:1: field 'miners': is required: a list of miners")
        #expect(error("miners: []\n") == "c.yaml:1: field 'miners': expected a non-empty list of miners")
        #expect(error("minors: []\n").hasPrefix("c.yaml:1: unknown key 'minors' (did you mean 'miners'?); expected one of: database"))
        #expect(error("") == "c.yaml: the file is empty; expected 'database' and 'miners'")
        #expect(error("miners: [\n").hasPrefix("c.yaml:2: not valid YAML"))
        let twice = miner("") + "  - name: m\n    hotkey: \(alice)\n    port: 9001\n    backend: {kind: mock}\n"
        #expect(error(twice) == "c.yaml:6: miner 'm': field 'name': the name is already used by another miner")
        let samePort = miner("") + "  - name: n\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: mock}\n"
        #expect(error(samePort) == "c.yaml:6: miner 'n': field 'port': port 9000 on 127.0.0.1 is already used by miner 'm'")
        let sameHotkey = miner("") + "  - name: n\n    hotkey: \(alice)\n    port: 9001\n    backend: {kind: mock}\n"
        #expect(error(sameHotkey) == "c.yaml:6: miner 'n': field 'hotkey': hotkey \(alice) is already used by miner 'm'")
    }

    @Test func connectionLimits() throws {
        let config = try MinersConfig.parse(yaml: miner("    max_connections: 50\n    header_timeout: 2.5\n    max_requests_per_minute: 90\n"), file: "c.yaml")
        let limits = config.miners[0].limits
        #expect(limits.maxConnections == 50 && limits.headerTimeout == 2.5 && limits.maxRequestsPerMinute == 90)
        #expect(limits.bodyTimeout == 10 && limits.maxHeaderBytes == 16384 && limits.idleTimeout == 60)
        #expect(try MinersConfig.parse(yaml: miner(""), file: "c.yaml").miners[0].limits.maxRequestsPerMinute == nil)
        #expect(error(miner("    max_header_bytes: 10\n")) == "c.yaml:6: miner 'm': field 'max_header_bytes': expected an integer from 1024 to 1048576, got '10'")
        #expect(error(miner("    body_timeout: 0\n")) == "c.yaml:6: miner 'm': field 'body_timeout': expected a number of seconds above 0 and at most 300, got '0'")
    }

    /// Every duration a config can set has an upper bound: 1e30 would trap in Duration
    /// arithmetic in the worker or the supervisor. `check` refuses it naming the field.
    @Test(arguments: [
        ("    timeout: 1e30\n", "timeout"), ("    idle_timeout: 1e30\n", "idle_timeout"),
        ("    header_timeout: 1e30\n", "header_timeout"), ("    body_timeout: 1e30\n", "body_timeout"),
        ("    max_nonce_skew: 1e30\n", "max_nonce_skew"), ("    max_request_timeout: 1e30\n", "max_request_timeout"),
        ("    restart: {backoff_initial: 1e30}\n", "restart.backoff_initial"), ("    restart: {backoff_max: 1e30}\n", "restart.backoff_max"),
        ("    restart: {min_uptime: 1e30}\n", "restart.min_uptime"), ("    restart: {window: 1e30}\n", "restart.window"),
        ("    restart: {crash_loop_cooldown: 1e30}\n", "restart.crash_loop_cooldown"),
    ])
    func hugeDurationsAreRefused(yaml: String, field: String) {
        let message = error(miner(yaml))
        #expect(message.hasPrefix("c.yaml:6: miner 'm': field '\(field)': expected"), "\(message)")
        #expect(message.contains("at most") || message.contains("from 0 to"), "\(message)")
    }

    @Test func hugeBackendAndSupervisorDurationsAreRefused() {
        let http = "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: openai, base_url: 'http://127.0.0.1:1/v1', model: x, "
        #expect(error(http + "connect_timeout: 1e30}\n").contains("field 'backend.connect_timeout': expected a number of seconds above 0 and at most 300"))
        #expect(error(http + "idle_timeout: 1e30}\n").contains("field 'backend.idle_timeout': expected a number of seconds above 0 and at most 3600"))
        #expect(error("supervisor: {grace_period: 1e30}\n" + miner("")).contains("field 'supervisor.grace_period': expected a number of seconds from 0 to 3600"))
        #expect(error(miner("    max_request_timeout: 60\n    timeout: 90\n")).contains("field 'timeout': 90.0 s is above max_request_timeout (60.0 s)"))
    }

    @Test func theRequestBudgetAndItsDefaults() throws {
        let config = try MinersConfig.parse(yaml: miner("    max_request_timeout: 60\n    max_connections_per_ip: 8\n    restart: {crash_loop_cooldown: 0}\n"), file: "c.yaml")
        #expect(config.miners[0].maxRequestTimeout == 60)
        #expect(config.miners[0].limits.maxConnectionsPerIP == 8)
        #expect(config.miners[0].restart.crashLoopCooldown == 0)
        let plain = try MinersConfig.parse(yaml: miner(""), file: "c.yaml").miners[0]
        #expect(plain.maxRequestTimeout == 300 && plain.restart.crashLoopCooldown == 300 && plain.limits.maxConnectionsPerIP == 64)
    }

    /// A wildcard address takes the port on every address: two miners cannot share it.
    @Test(arguments: [("0.0.0.0", "127.0.0.1"), ("127.0.0.1", "0.0.0.0"), ("::", "127.0.0.1"), ("localhost", "127.0.0.1")])
    func overlappingAddressesOnOnePortAreRefused(first: String, second: String) {
        let yaml = """
            miners:
              - {name: a, hotkey: \(alice), host: "\(first)", port: 9000, backend: {kind: mock}}
              - {name: b, hotkey: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty, host: "\(second)", port: 9000, backend: {kind: mock}}
            """
        #expect(error(yaml).contains("field 'port': port 9000 on \(second) is already used by miner 'a'"))
    }

    @Test func metricsPortIsCheckedAgainstTheMiners() throws {
        let config = try MinersConfig.parse(yaml: "supervisor: {metrics_port: 9464}\n" + miner(""), file: "c.yaml")
        #expect(config.supervisor.metricsPort == 9464 && config.supervisor.metricsHost == "127.0.0.1")
        #expect(try MinersConfig.parse(yaml: miner(""), file: "c.yaml").supervisor.metricsPort == nil)
        #expect(error("supervisor: {metrics_port: 9000}\n" + miner("")) == "c.yaml:3: miner 'm': field 'port': port 9000 is the supervisor's metrics_port")
        #expect(error("supervisor: {metrics_port: 70000}\n" + miner("")) == "c.yaml:1: field 'supervisor.metrics_port': expected an integer from 1 to 65535, got '70000'")
    }

    let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"

    @Test func minersInheritTheDefaultsAndOverrideThem() throws {
        let config = try MinersConfig.parse(yaml: """
            database: d.sqlite
            supervisor: {grace_period: 5, log_dir: /tmp/logs}
            defaults:
              streaming_batch_size: 6
              timeout: 9
              backend: {kind: mock, delay_ms: 40, text: "shared"}
              restart: {max_restarts: 3, window: 30}
            miners:
              - {name: a, hotkey: \(alice), port: 1}
              - name: b
                hotkey: \(bob)
                port: 2
                streaming_batch_size: 2
                backend: {delay_ms: 5}
                restart: {min_uptime: 1}
            """, file: "d.yaml")
        #expect(config.supervisor == SupervisorConfig(gracePeriod: 5, logDirectory: "/tmp/logs"))
        let (a, b) = (try config.miner(named: "a"), try config.miner(named: "b"))
        #expect(a.streamingBatchSize == 6)
        #expect(a.timeout == .fixed(seconds: 9))
        #expect(a.backend == .mock(MockBackendConfig(text: "shared", delayMilliseconds: 40)))
        #expect(a.restart.maxRestarts == 3 && a.restart.window == 30 && a.restart.minUptime == 10)
        #expect(b.streamingBatchSize == 2)
        #expect(b.backend == .mock(MockBackendConfig(text: "shared", delayMilliseconds: 5)))
        #expect(b.restart.maxRestarts == 3 && b.restart.minUptime == 1)
        #expect(config.controlSocket == "d.sqlite.control.sock")
        #expect(MinersConfig(file: "x", database: "var/x.sqlite", miners: []).logDirectory == "var/logs")
    }

    @Test func defaultsCannotSetAnIdentity() {
        #expect(error("defaults: {port: 5}\nminers: []\n").hasPrefix(
            "c.yaml:1: field 'defaults': unknown key 'port'; expected one of: host, synapses"))
    }

    @Test func restartPolicyIsValidated() {
        #expect(error(miner("    restart: {backoff_initial: 5, backoff_max: 1}\n"))
            == "c.yaml:6: miner 'm': field 'restart.backoff_max': must be at least backoff_initial (5.0 s)")
        #expect(error(miner("    restart: {max_restart: 1}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'restart': unknown key 'max_restart' (did you mean 'max_restarts'?)"))
    }

    @Test func suggestionsNeedToBeClose() {
        #expect(Suggestion.closest(to: "prot", in: ConfigReader.minerKeys) == "port")
        #expect(Suggestion.closest(to: "zzzzzz", in: ConfigReader.minerKeys) == nil)
        #expect(Suggestion.distance("kitten", "sitting") == 3)
        #expect(Suggestion.distance("prot", "port") == 1)
    }

    @Test func admissionSettings() throws {
        let config = try MinersConfig.parse(yaml: miner("""
                blacklist: {allow: [\(bob)], deny: [\(alice)], metagraph: m.json, min_stake: 10.5,
                            require_validator_permit: true, allow_non_registered: true}
                max_concurrent_streams: 8
                max_queued_requests: 0
                max_nonce_skew: 5
            """), file: "c.yaml")
        let admission = try config.miner(named: "m").admission
        #expect(admission.allow == [bob] && admission.deny == [alice])
        #expect(admission.metagraph == "m.json" && admission.minStake == 10.5)
        #expect(admission.requireValidatorPermit && admission.allowNonRegistered)
        #expect(admission.maxConcurrentStreams == 8 && admission.maxQueuedRequests == 0 && admission.maxNonceSkew == 5)
        #expect(error(miner("    blacklist: {min_stake: 5}\n"))
            == "c.yaml:6: miner 'm': field 'blacklist.metagraph': is required by min_stake and require_validator_permit (they read stakes and permits from it)")
        #expect(error(miner("    blacklist: {deny: [nobody]}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'blacklist.deny': 'nobody' is not a valid SS58 address"))
    }

    @Test func aWalletHotkeyComesFromItsPublicFile() throws {
        let wallets = FileManager.default.temporaryDirectory.appendingPathComponent("wallets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: wallets.appendingPathComponent("w/hotkeys"), withIntermediateDirectories: true)
        let publicKey = "0x" + "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        try #"{"cryptoType":1,"publicKey":"\#(publicKey)","accountId":"\#(publicKey)","ss58Address":"\#(alice)"}"#
            .write(to: wallets.appendingPathComponent("w/hotkeys/hpub.txt"), atomically: true, encoding: .utf8)
        let yaml = "miners:\n  - {name: m, wallet: {path: \(wallets.path), name: w, hotkey: h}, port: 1, backend: {kind: mock}}\n"
        #expect(try MinersConfig.parse(yaml: yaml, file: "c.yaml").miners[0].hotkey == alice)
        #expect(error(yaml.replacingOccurrences(of: "hotkey: h}", with: "hotkey: x}")).hasPrefix(
            "c.yaml:2: miner 'm': field 'wallet': cannot read the wallet's public hotkey file \(wallets.path)/w/hotkeys/xpub.txt"))
        #expect(error("miners:\n  - {name: m, hotkey: \(alice), wallet: {name: w, hotkey: h}, port: 1, backend: {kind: mock}}\n")
            == "c.yaml:2: miner 'm': field 'wallet': give either hotkey (an SS58 address) or wallet, not both")
    }

    @Test func httpBackends() throws {
        let yaml = """
            miners:
              - name: o
                hotkey: \(alice)
                port: 1
                backend: {kind: openai, base_url: "http://127.0.0.1:8000/v1/", model: smollm2, api_key_env: KEY,
                          temperature: 0.2, top_p: 0.9, max_tokens: 64, system_prompt: '', extra_headers: {X-Org: o},
                          connect_timeout: 2, idle_timeout: 9}
              - name: t
                hotkey: \(bob)
                port: 2
                backend: {kind: tgi, base_url: "https://tgi.local", api: generate, max_new_tokens: 100, top_k: 5, stop: ["</s>"]}
            """
        let config = try MinersConfig.parse(yaml: yaml, file: "c.yaml")
        guard case .openai(let openai) = try config.miner(named: "o").backend, case .tgi(let tgi) = try config.miner(named: "t").backend else {
            Issue.record("wrong backend kinds")
            return
        }
        #expect(openai.http.baseURL == "http://127.0.0.1:8000/v1")
        #expect(openai.http.extraHeaders == ["X-Org": "o"] && openai.http.connectTimeout == 2 && openai.http.idleTimeout == 9)
        #expect(openai.model == "smollm2" && openai.apiKeyEnv == "KEY" && openai.maxTokens == 64 && openai.systemPrompt == nil)
        #expect(tgi.maxNewTokens == 100 && tgi.topK == 5 && tgi.stop == ["</s>"])
        #expect(tgi.systemPrompt == OpenAIBackendConfig.defaultSystemPrompt)
        #expect(error(miner("").replacingOccurrences(of: "{kind: mock}", with: "{kind: openai, base_url: 'http://x'}"))
            == "c.yaml:5: miner 'm': field 'backend.model': is required: the model name the server serves")
        #expect(error(miner("").replacingOccurrences(of: "{kind: mock}", with: "{kind: tgi, base_url: 'ftp://x'}"))
            == "c.yaml:5: miner 'm': field 'backend.base_url': expected an http:// or https:// URL, got 'ftp://x'")
        #expect(error(miner("").replacingOccurrences(of: "{kind: mock}", with: "{kind: openai, base_url: 'http://x', model: m, temprature: 1}")).hasPrefix(
            "c.yaml:5: miner 'm': field 'backend': unknown key 'temprature' (did you mean 'temperature'?)"))
    }

    /// The settings for today's model servers: pool size, warm-up, keep-alive, reasoning,
    /// `extra_body`, TGI's API and the batch bounds.
    @Test func modelServerSettings() throws {
        let yaml = """
            miners:
              - name: o
                hotkey: \(alice)
                port: 1
                max_batch_chars: 400
                max_batch_tokens: 200
                backend:
                  kind: openai
                  base_url: "http://127.0.0.1:11434/v1"
                  model: qwen3
                  max_connections: 32
                  warmup: true
                  keep_alive: -1
                  reasoning: disable
                  extra_body: {top_k: 20, min_p: 0.05, seed: 7, stop: ["</s>"], chat_template_kwargs: {enable_thinking: false}, note: "false", off: null}
              - name: t
                hotkey: \(bob)
                port: 2
                backend: {kind: tgi, base_url: "http://tgi.local", seed: 3, keep_alive: 1h30m, metrics_url: "http://tgi.local:9000/metrics"}
            """
        let config = try MinersConfig.parse(yaml: yaml, file: "c.yaml")
        let o = try config.miner(named: "o")
        guard case .openai(let openai) = o.backend, case .tgi(let tgi) = try config.miner(named: "t").backend else {
            Issue.record("wrong backend kinds")
            return
        }
        #expect(o.batchBounds == BatchBoundsConfig(maxChars: 400, maxTokens: 200))
        #expect(openai.http.maxConnections == 32 && openai.http.warmup && openai.http.keepAlive == .seconds(-1))
        #expect(openai.http.rootURL == "http://127.0.0.1:11434" && openai.http.metricsEndpoint == "http://127.0.0.1:11434/metrics")
        #expect(openai.reasoning == .disable && openai.maxTokens == OpenAIBackendConfig.defaultMaxTokens)
        #expect(openai.extraBody == [
            "top_k": .int(20), "min_p": .double(0.05), "seed": .int(7), "stop": .array([.string("</s>")]),
            "chat_template_kwargs": .object(["enable_thinking": .bool(false)]), "note": .string("false"), "off": .null,
        ])
        #expect(tgi.api == .messages && tgi.seed == 3 && tgi.http.keepAlive == .duration("1h30m"))
        #expect(tgi.http.metricsEndpoint == "http://tgi.local:9000/metrics" && !tgi.http.warmup && tgi.http.maxConnections == nil)

        func backendError(_ backend: String, extra: String = "") -> String {
            error(miner(extra).replacingOccurrences(of: "{kind: mock}", with: backend))
        }
        let openAI = "{kind: openai, base_url: 'http://x/v1', model: m, "
        #expect(backendError(openAI + "extra_body: [1, 2]}") .contains("field 'backend.extra_body': expected a mapping of request fields"))
        #expect(backendError(openAI + "extra_body: {stream: false}}").contains("field 'backend.extra_body.stream': is set by the backend itself"))
        #expect(backendError(openAI + "extra_body: {messages: []}}").contains("field 'backend.extra_body.messages'"))
        for key in ["stream_options: {include_usage: false}", "n: 2", "model: other"] {
            #expect(backendError(openAI + "extra_body: {\(key)}}").contains("is set by the backend itself"), "\(key)")
        }
        #expect(backendError(openAI + "reasoning: hide}") .contains("field 'backend.reasoning': expected one of: drop, stream, disable, got 'hide'"))
        #expect(backendError(openAI + "keep_alive: forever}").contains("field 'backend.keep_alive': expected -1"))
        #expect(backendError(openAI + "keep_alive: 99999999999}").contains("field 'backend.keep_alive'"))
        #expect(backendError(openAI + "max_connections: 0}").contains("field 'backend.max_connections': expected an integer from 1 to 10000"))
        #expect(backendError(openAI + "warmup: sometimes}").contains("field 'backend.warmup': expected true or false"))
        #expect(backendError(openAI + "metrics_url: 'file:///etc'}").contains("field 'backend.metrics_url': expected an http://"))
        let deep = String(repeating: "{a: ", count: 20) + "1" + String(repeating: "}", count: 20)
        #expect(backendError(openAI + "extra_body: \(deep)}").contains("nested more than 16 levels deep"))
        #expect(backendError("{kind: tgi, base_url: 'http://x', top_k: 5}")
            .contains("field 'backend.top_k': is only used with 'api: generate'"))
        #expect(backendError("{kind: tgi, base_url: 'http://x', api: grpc}").contains("field 'backend.api': expected one of: messages, generate"))
        #expect(error(miner("    max_batch_chars: 0\n")).contains("field 'max_batch_chars': expected an integer from 1 to 1000000"))
        #expect(error(miner("    max_batch_tokens: -5\n")).contains("field 'max_batch_tokens'"))
        #expect(error(miner("    max_batch_tokens: 3\n")).contains("field 'max_batch_tokens': expected an integer from 4 to 1000000"))
    }

    @Test func goDurations() {
        for good in ["30m", "1h30m", "45s", "-1m", "1.5h", "500ms"] { #expect(ConfigReader.isGoDuration(good), "\(good)") }
        for bad in ["", "-", "30", "m", "1x", "1..5h", "30m ", "h1"] { #expect(!ConfigReader.isGoDuration(bad), "\(bad)") }
    }

    @Test func unknownMinerNamesTheOthers() throws {
        let config = try MinersConfig.parse(yaml: miner(""), file: "c.yaml")
        #expect(throws: ConfigError(file: "c.yaml", message: "no miner named 'x'; the miners are: m")) {
            try config.miner(named: "x")
        }
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: ConfigError.self) { try MinersConfig.load(path: "/nonexistent/miners.yaml") }
    }
}
