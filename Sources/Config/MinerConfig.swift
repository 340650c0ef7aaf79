/// One miner worker: its identity, where it listens and how it streams.
public struct MinerConfig: Sendable, Equatable {
    public var name: String
    /// The fleet host that runs it (`fleet_host`); nil: every host's supervisor runs it.
    public var fleetHost: String?
    /// SS58 address of the miner's hotkey.
    public var hotkey: String
    public var host: String
    public var port: Int
    /// Synapse names served as `POST /<name>`.
    public var synapses: [String]
    public var streamingBatchSize: Int
    /// Bounds on one batch besides its item count: a batch that would pass one is sent early,
    /// so no chunk a validator reads exceeds its streaming penalty's limit (200 tokens).
    public var batchBounds = BatchBoundsConfig()
    public var timeout: TimeoutPolicy
    /// The most a request's `timeout` may ask for (validators send 10–17 s); above it → 400.
    /// One bound for the request's whole budget: the stream slot wait, the nonce window, the
    /// engine's deadline and the writer.
    public var maxRequestTimeout: Double = 300
    /// Exit the worker (after closing the response) when the backend fails.
    public var stopOnForwardException: Bool
    /// Larger request bodies get 413.
    public var maxBodyBytes: Int
    public var backend: BackendConfig
    public var restart: RestartPolicyConfig
    public var admission: AdmissionConfig
    public var limits = ConnectionLimits()
    /// Set when the hotkey was given as `wallet:`; signing on chain needs it.
    public var wallet: WalletLocation?
    public var chain: ChainConfig?
    /// Published on chain when given (`external_ip`, `external_port`).
    public var externalAxon: ExternalAxon?
    /// `env` and `env_file`: the worker's variables on top of the supervisor's.
    public var environment = ProcessEnvironment()
    /// Resident memory above which the worker is restarted gracefully.
    public var maxRSS: Int?
    /// Services that must be healthy for this miner to serve: `depends_on` and `backend.service`.
    public var services: [String] = []

    /// The settings a worker process runs with: a change to the chain keys alone does not
    /// restart the worker.
    public var workerSettings: MinerConfig {
        var copy = self
        copy.chain = nil
        copy.externalAxon = nil
        return copy
    }

    public static let defaultSynapses = ["StreameinsteinSynapse"]
    public static let defaultBatchSize = 12
    public static let defaultMaxBodyBytes = 1 << 20
    /// The highest `max_request_timeout` a config may set.
    public static let maxRequestTimeoutLimit = 3600.0

    public init(
        name: String, hotkey: String, host: String = "127.0.0.1", port: Int,
        synapses: [String] = MinerConfig.defaultSynapses, streamingBatchSize: Int = MinerConfig.defaultBatchSize,
        timeout: TimeoutPolicy = .request, stopOnForwardException: Bool = false,
        maxBodyBytes: Int = MinerConfig.defaultMaxBodyBytes, backend: BackendConfig,
        restart: RestartPolicyConfig = RestartPolicyConfig(), admission: AdmissionConfig = AdmissionConfig()
    ) {
        self.name = name
        self.hotkey = hotkey
        self.host = host
        self.port = port
        self.synapses = synapses
        self.streamingBatchSize = streamingBatchSize
        self.timeout = timeout
        self.stopOnForwardException = stopOnForwardException
        self.maxBodyBytes = maxBodyBytes
        self.backend = backend
        self.restart = restart
        self.admission = admission
    }
}

/// How long a worker streams before it stops and drops the unsent remainder.
public enum TimeoutPolicy: Sendable, Equatable, CustomStringConvertible {
    /// The request's own `timeout` (the validator's budget), as the subnet's miners do.
    case request
    /// A fixed number of seconds, whatever the request says.
    case fixed(seconds: Double)

    /// The seconds to allow a request that asked for `requested`.
    public func seconds(requested: Double) -> Double {
        switch self {
        case .request: requested
        case .fixed(let seconds): seconds
        }
    }

    public var description: String {
        switch self {
        case .request: "request"
        case .fixed(let seconds): "\(seconds)s"
        }
    }
}

/// The token producer of a miner.
public enum BackendConfig: Sendable, Equatable {
    case mock(MockBackendConfig)
    case openai(OpenAIBackendConfig)
    case tgi(TGIBackendConfig)

    public var kind: String {
        switch self {
        case .mock: "mock"
        case .openai: "openai"
        case .tgi: "tgi"
        }
    }

    /// The server's settings, for the HTTP backends.
    public var http: HTTPBackendConfig? {
        switch self {
        case .mock: nil
        case .openai(let config): config.http
        case .tgi(let config): config.http
        }
    }
}

/// `max_batch_chars` and `max_batch_tokens`: nil leaves that bound off.
public struct BatchBoundsConfig: Sendable, Equatable {
    /// Unicode scalars in one batch's text.
    public var maxChars: Int?
    /// Tokens in one batch, counted by the backend's server (`/tokenize`) where it has one,
    /// else one per item.
    public var maxTokens: Int?

    public init(maxChars: Int? = nil, maxTokens: Int? = nil) {
        self.maxChars = maxChars
        self.maxTokens = maxTokens
    }
}

/// What both HTTP backends share: where the server is and how long to wait for it.
public struct HTTPBackendConfig: Sendable, Equatable {
    public var baseURL: String
    /// Headers sent with every request (e.g. an organisation id).
    public var extraHeaders: [String: String] = [:]
    /// Seconds to connect; the answer's own deadline bounds the rest.
    public var connectTimeout: Double = 5
    /// Seconds the server may stay silent in the middle of a stream.
    public var idleTimeout: Double = 30
    /// Connections kept to the server, one per concurrent stream; nil: the miner's
    /// `max_concurrent_streams`, so every admitted request has one.
    public var maxConnections: Int?
    /// One small request at worker start, before the worker reports ready.
    public var warmup = false
    /// Ollama's `keep_alive` (`-1` forever, `30m`, seconds): sent through the native API at
    /// start and every minute after, so the model is loaded when a validator asks.
    public var keepAlive: KeepAlive?
    /// Where the server's Prometheus metrics are; nil: `/metrics` at the server's root.
    public var metricsURL: String?
    /// The service of the config that runs this server, when `base_url` came from one.
    public var service: String?

    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    /// The server's root: `base_url` without a trailing `/v1` (where `/metrics`, `/tokenize`,
    /// `/health` and Ollama's `/api` live).
    public var rootURL: String {
        baseURL.hasSuffix("/v1") ? String(baseURL.dropLast(3)) : baseURL
    }

    public var metricsEndpoint: String { metricsURL ?? rootURL + "/metrics" }
}

/// Ollama's keep-alive value, as its API takes it: seconds or a Go duration string.
public enum KeepAlive: Sendable, Equatable, CustomStringConvertible {
    case seconds(Int)
    case duration(String)

    public var description: String {
        switch self {
        case .seconds(let seconds): String(seconds)
        case .duration(let text): text
        }
    }
}

/// What the OpenAI backend does with a reasoning model's thinking (`reasoning_content` or
/// `reasoning` deltas).
public enum ReasoningMode: String, Sendable, Equatable, CaseIterable {
    /// Stream only the answer; the thinking is counted and timed in the log.
    case drop
    /// Stream the thinking too, before the answer.
    case stream
    /// Ask the server not to think (`chat_template_kwargs: {enable_thinking: false}`).
    case disable
}

/// An OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp's server, Ollama).
public struct OpenAIBackendConfig: Sendable, Equatable {
    public static let defaultSystemPrompt = "You are a careful mathematician. Solve the problem step by step, "
        + "then end your answer with a last line of the form: So the final answer is: X"

    public var http: HTTPBackendConfig
    public var model: String
    /// The environment variable holding the API key (never logged, never stored).
    public var apiKeyEnv: String?
    public var temperature: Double?
    public var topP: Double?
    /// A validator waits 10–17 s: an answer past a few hundred tokens is never read.
    public var maxTokens = OpenAIBackendConfig.defaultMaxTokens
    public var systemPrompt: String? = OpenAIBackendConfig.defaultSystemPrompt
    public var reasoning = ReasoningMode.drop
    /// Fields merged into every request body as given (`top_k`, `min_p`, `seed`,
    /// `chat_template_kwargs`, ...): the servers' extensions to OpenAI's API.
    public var extraBody: [String: ConfigValue] = [:]

    public static let defaultMaxTokens = 1024

    public init(http: HTTPBackendConfig, model: String) {
        self.http = http
        self.model = model
    }
}

/// A HuggingFace text-generation-inference server.
public struct TGIBackendConfig: Sendable, Equatable {
    public enum API: String, Sendable, Equatable, CaseIterable {
        /// `/v1/chat/completions` (TGI ≥ 1.4): the model's own chat template.
        case messages
        /// `/generate_stream`, with the prompt laid out by `message_template`.
        case generate
    }

    public var http: HTTPBackendConfig
    public var api = API.messages
    public var seed: Int?
    public var maxNewTokens = 512
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var repetitionPenalty: Double?
    public var stop: [String] = []
    /// How the conversation becomes a prompt: `{role}` and `{text}` per message, then
    /// `assistant_prefix`. The default is a plain `role: text` transcript.
    public var messageTemplate = "{role}: {text}\n"
    public var assistantPrefix = "assistant: "
    public var systemPrompt: String? = OpenAIBackendConfig.defaultSystemPrompt

    public init(http: HTTPBackendConfig) {
        self.http = http
    }
}

public struct MockBackendConfig: Sendable, Equatable {
    /// Fixed answer text; without it the mock answers the question.
    public var text: String?
    public var delayMilliseconds: Int
    /// Throw after this many items.
    public var failAfter: Int?

    public init(text: String? = nil, delayMilliseconds: Int = 0, failAfter: Int? = nil) {
        self.text = text
        self.delayMilliseconds = delayMilliseconds
        self.failAfter = failAfter
    }
}

/// When and how often the supervisor restarts a worker that exited on its own.
public struct RestartPolicyConfig: Sendable, Equatable {
    /// First backoff, doubled after each quick exit up to `backoffMax` (seconds).
    public var backoffInitial: Double = 0.5
    public var backoffMax: Double = 30
    /// A worker that ran this long before exiting starts again from `backoffInitial`.
    public var minUptime: Double = 10
    /// More restarts than this within `window` seconds: the miner is crash-looping and left stopped.
    public var maxRestarts: Int = 5
    public var window: Double = 60
    /// A crash-looping miner is tried again after this many seconds (0: left stopped until
    /// `miners start`).
    public var crashLoopCooldown: Double = 300

    public init() {}
}
