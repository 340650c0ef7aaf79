import Testing
@testable import Supervisor

/// Each server family's load gauges, by the names it writes (MODEL-SERVERS.md §7).
@Suite struct ServerLoadTests {
    func load(_ text: String) -> ServerLoad { ServerLoad(metrics: Array(text.utf8)) }

    @Test func vllmSumsRequestsOverModelsAndTakesTheFullestCache() {
        #expect(load(PrometheusTextTests.vllm) == ServerLoad(server: .vllm, running: 5, waiting: 5, kvCacheUsage: 0.4207))
    }

    @Test func vllmBeforeTheRenameWritesGPUCacheUsage() {
        let old = """
            vllm:num_requests_running{model_name="m"} 1.0
            vllm:num_requests_waiting{model_name="m"} 0.0
            vllm:gpu_cache_usage_perc{model_name="m"} 0.75
            """
        #expect(load(old) == ServerLoad(server: .vllm, running: 1, waiting: 0, kvCacheUsage: 0.75))
        // Both written (a server in between): the new name.
        #expect(load(old + "\nvllm:kv_cache_usage_perc{model_name=\"m\"} 0.5").kvCacheUsage == 0.5)
    }

    @Test func aNaNOrInfiniteGaugeIsNoReading() {
        let text = """
            vllm:num_requests_running{engine="0"} 2
            vllm:num_requests_running{engine="1"} NaN
            vllm:num_requests_waiting{engine="0"} +Inf
            vllm:kv_cache_usage_perc{engine="0"} NaN
            vllm:kv_cache_usage_perc{engine="1"} 0.25
            """
        #expect(load(text) == ServerLoad(server: .vllm, running: 2, waiting: nil, kvCacheUsage: 0.25))
        // Finite values whose sum is not.
        let huge = "vllm:num_requests_running{a=\"1\"} 1e308\nvllm:num_requests_running{a=\"2\"} 1e308"
        #expect(load(huge) == ServerLoad(server: .vllm))
    }

    @Test func sglangLlamaCppAndTGI() {
        let sglang = """
            # TYPE sglang:num_running_reqs gauge
            sglang:num_running_reqs{model_name="qwen",tp_rank="0"} 7.0
            sglang:num_queue_reqs{model_name="qwen",tp_rank="0"} 3.0
            sglang:token_usage{model_name="qwen",tp_rank="0"} 0.61
            sglang:gen_throughput{model_name="qwen",tp_rank="0"} 812.5
            """
        #expect(load(sglang) == ServerLoad(server: .sglang, running: 7, waiting: 3, kvCacheUsage: 0.61))
        let llamacpp = """
            # HELP llamacpp:requests_processing Number of requests processing.
            # TYPE llamacpp:requests_processing gauge
            llamacpp:requests_processing 2
            llamacpp:requests_deferred 6
            llamacpp:prompt_tokens_total 1024
            """
        #expect(load(llamacpp) == ServerLoad(server: .llamacpp, running: 2, waiting: 6))
        let tgi = """
            # TYPE tgi_queue_size gauge
            tgi_queue_size 4
            tgi_batch_current_size 16
            tgi_batch_current_max_tokens 4096
            tgi_request_count 120
            """
        #expect(load(tgi) == ServerLoad(server: .tgi, running: 16, waiting: 4))
    }

    @Test func aServerWithOnlyOtherMetricsOfItsFamily() {
        let histogramsOnly = "vllm:e2e_request_latency_seconds_count{model_name=\"m\"} 3\n"
        #expect(load(histogramsOnly) == ServerLoad(server: .vllm))
    }

    @Test func textOfNoKnownServerIsUnknown() {
        #expect(load("process_cpu_seconds_total 12.5\ngo_goroutines 40\n") == ServerLoad())
        #expect(load("<html><body>404 page not found</body></html>") == ServerLoad())
        #expect(load("") == ServerLoad())
    }
}
