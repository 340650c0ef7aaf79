import AsyncHTTPClient
import Config
import Foundation
import NIOCore

/// Reads the metrics of every model server a config's miners use, for `miners status`: one GET
/// per distinct metrics URL, all at once, each within `timeout` (its body half a second more), so
/// a dead or slow server costs the command at most that long and is shown as such, never as a
/// failure of the command.
public struct BackendHealthScraper: Sendable {
    public var timeout: Duration
    public var maxBytes: Int
    public var client: HTTPClient

    public init(timeout: Duration = .seconds(2), maxBytes: Int = PrometheusText.maxBytes, client: HTTPClient = .shared) {
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.client = client
    }

    /// A metrics URL and the miners whose backend it belongs to.
    public struct Target: Sendable, Equatable {
        public var endpoint: String
        public var metricsURL: String
        public var miners: [String]
    }

    /// One per distinct metrics URL, in the config's order; a mock backend has none.
    public static func targets(of miners: [MinerConfig]) -> [Target] {
        var targets: [Target] = []
        for miner in miners {
            let http: HTTPBackendConfig
            switch miner.backend {
            case .openai(let config): http = config.http
            case .tgi(let config): http = config.http
            case .mock: continue
            }
            if let index = targets.firstIndex(where: { $0.metricsURL == http.metricsEndpoint }) {
                targets[index].miners.append(miner.name)
            } else {
                targets.append(Target(endpoint: http.baseURL, metricsURL: http.metricsEndpoint, miners: [miner.name]))
            }
        }
        return targets
    }

    public func scrape(_ miners: [MinerConfig]) async -> [BackendHealth] {
        let targets = Self.targets(of: miners)
        return await withTaskGroup(of: (Int, BackendHealth).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await scrape(target)) }
            }
            var rows = [BackendHealth?](repeating: nil, count: targets.count)
            for await (index, row) in group { rows[index] = row }
            return rows.compactMap { $0 }
        }
    }

    public func scrape(_ target: Target) async -> BackendHealth {
        func row(_ state: BackendHealth.State, _ detail: String?, _ load: ServerLoad = ServerLoad()) -> BackendHealth {
            BackendHealth(endpoint: target.endpoint, metricsURL: target.metricsURL, miners: target.miners, state: state,
                          detail: detail, load: load)
        }
        let result: Fetched
        do {
            result = try await withinTimeout { try await fetch(target.metricsURL) }
        } catch is TimedOut {
            return row(.unreachable, "answer not over within \(Self.text(timeout + Self.bodyGrace))")
        } catch {
            return row(.unreachable, describe(error))
        }
        guard result.status == 200 else { return row(.httpError, "HTTP \(result.status)") }
        let load = ServerLoad(metrics: result.body, limit: maxBytes)
        guard load.server != .unknown else { return row(.noMetrics, "no metric of vLLM, SGLang, llama.cpp or TGI") }
        let size = maxBytes % (1 << 20) == 0 ? "\(maxBytes >> 20) MiB" : "\(maxBytes) bytes"
        return row(.ok, result.body.count > maxBytes ? "longer than \(size): read the first" : nil, load)
    }

    /// How much longer than `timeout` the body may take.
    static let bodyGrace = Duration.milliseconds(500)

    static func text(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return (value == value.rounded() ? String(Int(value)) : String(value)) + "s"
    }

    struct Fetched {
        var status: UInt
        /// At most `maxBytes + 1`: one more than the bound says the text was cut.
        var body: [UInt8]
    }

    struct TimedOut: Error {}

    func fetch(_ url: String) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "text/plain")
        // At the deadline a request still waiting for a connection fails with the last
        // connection error (the client retries a refused connect until then), so it is told.
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
        guard response.status == .ok else { return Fetched(status: response.status.code, body: []) }
        var body: [UInt8] = []
        for try await chunk in response.body {
            body += chunk.readableBytesView.prefix(maxBytes + 1 - body.count)
            if body.count > maxBytes { break }
        }
        return Fetched(status: 200, body: body)
    }

    /// The client's own deadline covers the answer's head only: the body is bounded here, half a
    /// second later, by cancelling the read.
    func withinTimeout<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: timeout + Self.bodyGrace)
                throw TimedOut()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// An operator's words for a failed GET: the connection errors' own text is long.
    func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
        if let error = error as? HTTPClientError {
            if [.invalidURL, .emptyHost, .emptyScheme].contains(error) { return "not a URL it can ask" }
            if [.deadlineExceeded, .connectTimeout, .readTimeout].contains(error) { return "no answer within \(Self.text(timeout))" }
        }
        return String(text.prefix(200))
    }
}
