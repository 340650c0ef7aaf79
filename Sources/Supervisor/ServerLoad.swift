/// How busy a model server is, read from its Prometheus metrics by the names its family uses
/// (vLLM, SGLang, llama.cpp, TGI): requests being generated, requests queued, KV cache in use.
public struct ServerLoad: Sendable, Equatable {
    public enum Server: String, Codable, Sendable, CaseIterable {
        case vllm, sglang, llamacpp, tgi, unknown
    }

    public var server: Server
    /// Summed over label sets: a server serving several models (`model_name`) or data-parallel
    /// engines (`engine`) writes one gauge per set.
    public var running: Double?
    public var waiting: Double?
    /// 0–1, as the servers write it; the fullest of the label sets, since the fullest engine
    /// is the one that starts queueing.
    public var kvCacheUsage: Double?

    public init(server: Server = .unknown, running: Double? = nil, waiting: Double? = nil, kvCacheUsage: Double? = nil) {
        self.server = server
        self.running = running
        self.waiting = waiting
        self.kvCacheUsage = kvCacheUsage
    }

    /// The metric names of one server family. Several KV names: the first present is read.
    struct Family {
        var server: Server
        var prefix: String
        var running: String
        var waiting: String
        var kvCache: [String]
    }

    static let families = [
        // vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc in V1 (2025); older servers
        // write only the old name.
        Family(server: .vllm, prefix: "vllm:", running: "vllm:num_requests_running", waiting: "vllm:num_requests_waiting",
               kvCache: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]),
        Family(server: .sglang, prefix: "sglang:", running: "sglang:num_running_reqs", waiting: "sglang:num_queue_reqs",
               kvCache: ["sglang:token_usage"]),
        // kv_cache_usage_ratio: older llama.cpp servers only.
        Family(server: .llamacpp, prefix: "llamacpp:", running: "llamacpp:requests_processing",
               waiting: "llamacpp:requests_deferred", kvCache: ["llamacpp:kv_cache_usage_ratio"]),
        Family(server: .tgi, prefix: "tgi_", running: "tgi_batch_current_size", waiting: "tgi_queue_size", kvCache: []),
    ]

    /// The load in a metrics text (read up to `limit`, as `PrometheusText` does); `.unknown`
    /// with no figures when no family's metric is in it.
    public init(metrics bytes: [UInt8], limit: Int = PrometheusText.maxBytes) {
        var sums: [String: Double] = [:]
        var maxima: [String: Double] = [:]
        var seen: [Server: Int] = [:]
        let summed = Set(Self.families.flatMap { [$0.running, $0.waiting] })
        let maximal = Set(Self.families.flatMap(\.kvCache))
        PrometheusText.forEachSample(in: bytes, limit: limit) { sample in
            if let family = Self.families.first(where: { sample.name.hasPrefix($0.prefix) }) {
                seen[family.server, default: 0] += 1
            }
            // NaN or ±Inf is no reading (and JSON could not carry it).
            guard sample.value.isFinite else { return }
            if summed.contains(sample.name) {
                sums[sample.name, default: 0] += sample.value
            } else if maximal.contains(sample.name) {
                maxima[sample.name] = max(maxima[sample.name] ?? -.infinity, sample.value)
            }
        }
        // The family with a load metric; else one with any metric of its own (a server whose
        // load gauges have other names, or none yet).
        let family = Self.families.first { family in
            sums[family.running] != nil || sums[family.waiting] != nil || family.kvCache.contains { maxima[$0] != nil }
        } ?? Self.families.first { seen[$0.server] != nil }
        guard let family else {
            self.init()
            return
        }
        func finite(_ value: Double?) -> Double? { value.flatMap { $0.isFinite ? $0 : nil } }
        self.init(
            server: family.server, running: finite(sums[family.running]), waiting: finite(sums[family.waiting]),
            kvCacheUsage: family.kvCache.lazy.compactMap { maxima[$0] }.first
        )
    }
}
