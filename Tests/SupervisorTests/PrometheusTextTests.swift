import Foundation
import Testing
@testable import Supervisor

/// The metrics text of a model server is read as Prometheus reads it, and whatever a hostile
/// server sends is skipped, never trusted and never a trap.
@Suite struct PrometheusTextTests {
    /// The shape of a vLLM V1 server's `/metrics` (trimmed): HELP and TYPE lines, labels per
    /// engine and model, histograms with `le="+Inf"`, Python's process metrics.
    static let vllm = """
        # HELP python_gc_objects_collected_total Objects collected during gc
        # TYPE python_gc_objects_collected_total counter
        python_gc_objects_collected_total{generation="0"} 12345.0
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes 1.2345e+09
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 3.0
        vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.2-1B"} 2.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 1.0
        vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.2-1B"} 4.0
        # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 0.4207
        vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.2-1B"} 0.125
        # HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
        # TYPE vllm:prefix_cache_queries_total counter
        vllm:prefix_cache_queries_total{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 1234.0
        # HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
        # TYPE vllm:time_to_first_token_seconds histogram
        vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 0.0
        vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 12.0
        vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 12.0
        vllm:time_to_first_token_seconds_sum{engine="0",model_name="Qwen/Qwen2.5-1.5B-Instruct"} 1.5
        """

    func samples(_ text: String) -> [PrometheusText.Sample] { PrometheusText.samples(in: Array(text.utf8)) }

    @Test func readsAVLLMExposition() {
        let samples = samples(Self.vllm)
        #expect(samples.count == 13)
        #expect(samples[1] == .init(name: "process_resident_memory_bytes", value: 1.2345e9))
        #expect(samples[2] == .init(
            name: "vllm:num_requests_running", labels: ["engine": "0", "model_name": "Qwen/Qwen2.5-1.5B-Instruct"], value: 3
        ))
        #expect(samples.first { $0.labels["le"] == "+Inf" }?.value == 12)
        #expect(!samples.contains { $0.name.hasPrefix("#") || $0.name == "HELP" || $0.name == "TYPE" })
    }

    @Test func unescapesLabelValuesAndKeepsSeparatorsInsideQuotes() throws {
        let text = #"vllm:num_requests_running{model_name="say \"hi\" \\ then\nbye",engine="0} 9, x=\"y\""} 2"#
        let sample = try #require(samples(text).first)
        #expect(sample.labels == ["model_name": "say \"hi\" \\ then\nbye", "engine": "0} 9, x=\"y\""])
        #expect(sample.value == 2)
        // An unknown escape is kept as written; blanks around the parts, a trailing comma, no
        // blank after the closing brace.
        #expect(samples(#"m { a = "x\q" , b="" , }7"#) == [.init(name: "m", labels: ["a": #"x\q"#, "b": ""], value: 7)])
    }

    @Test func readsNaNInfinitiesTimestampsExemplarsAndCRLF() {
        let text = "a NaN\r\nb +Inf\r\nc -Inf\nd Inf 1700000000000\ne 1e-05\n"
            + "f_bucket{le=\"1\"} 3 # {trace_id=\"abc\"} 0.5\n# EOF\n"
        let samples = samples(text)
        #expect(samples.map(\.name) == ["a", "b", "c", "d", "e", "f_bucket"])
        #expect(samples[0].value.isNaN)
        #expect(samples[1].value == .infinity && samples[2].value == -.infinity && samples[3].value == .infinity)
        #expect(samples[4].value == 1e-5 && samples[5].value == 3)
    }

    @Test func skipsMalformedLinesAndReadsTheRest() {
        let garbage = [
            "this is not a metric",
            #"vllm:num_requests_running{model_name="x" 3"#,   // no closing brace
            #"vllm:num_requests_running{model_name="x} 3"#,   // no closing quote
            #"vllm:num_requests_running{model_name=x} 3"#,    // unquoted value
            #"vllm:num_requests_running{1a="x"} 3"#,          // label name starts with a digit
            #"vllm:num_requests_running{model_name="x\"#,     // escape at the end
            "vllm:num_requests_running 3 4 5",
            "vllm:num_requests_running three",
            "vllm:num_requests_running 0x10",
            "vllm:num_requests_running infinity",
            "vllm:num_requests_running 1.5.5",
            "vllm:num_requests_running",
            #"{model_name="x"} 1"#,
            "1abc 2",
            "foo-1 2",
            "   ",
            "#vllm:num_requests_running 7",
        ].joined(separator: "\n")
        let text = "ok_before 1\n" + garbage + "\nok_after 2"
        #expect(samples(text) == [.init(name: "ok_before", value: 1), .init(name: "ok_after", value: 2)])
    }

    @Test func invalidUTF8InALabelValueIsReplacedAndInANameIsRefused() {
        var bytes = Array(#"m{model="a"#.utf8) + [0xFF, 0xC0] + Array(#""} 1"#.utf8) + [0x0A]
        bytes += Array("m".utf8) + [0xFE] + Array(" 2\nn 3".utf8)
        let samples = PrometheusText.samples(in: bytes)
        #expect(samples.map(\.name) == ["m", "n"])
        #expect(samples[0].labels["model"] == "a\u{FFFD}\u{FFFD}")
    }

    @Test func boundsLinesLabelsAndTheWholeText() {
        // A line past the line bound is skipped whole; the next is read.
        let long = "m{a=\"" + String(repeating: "x", count: PrometheusText.maxLineBytes) + "\"} 1\n"
        #expect(samples(long + "n 2") == [.init(name: "n", value: 2)])
        // Too many labels.
        let labels = (0...PrometheusText.maxLabels).map { "l\($0)=\"v\"" }.joined(separator: ",")
        #expect(samples("m{\(labels)} 1\nn 2") == [.init(name: "n", value: 2)])
        // Past the limit, the text ends at its last whole line: `m 12` cut to `m 1` is not read.
        let line = Array("m 12\n".utf8)
        let text = Array(repeating: line, count: 10).joined().map { $0 }
        let cut = PrometheusText.samples(in: text, limit: 5 * 4 + 3)
        #expect(cut.count == 4 && cut.allSatisfy { $0.value == 12 })
        #expect(PrometheusText.samples(in: text, limit: 0).isEmpty)
        #expect(PrometheusText.samples(in: text, limit: 50).count == 10)
    }

    @Test func anAttackersHugeTextIsReadWithinItsBound() {
        // 5 MiB without a newline: nothing, quickly.
        let flat = [UInt8](repeating: UInt8(ascii: "a"), count: 5 << 20)
        #expect(PrometheusText.samples(in: flat).isEmpty)
        // 5 MiB of samples: only what lies in the first 4 MiB.
        let line = Array("vllm:num_requests_running{model_name=\"m\"} 1\n".utf8)
        var many: [UInt8] = []
        many.reserveCapacity(5 << 20)
        while many.count < 5 << 20 { many += line }
        #expect(PrometheusText.samples(in: many).count == PrometheusText.maxBytes / line.count)
        // Deep braces, quotes, lone escapes and blanks.
        let odd = String(repeating: "{", count: 10_000) + "\n" + String(repeating: "m{a=\"\\", count: 5_000) + "\n"
            + String(repeating: "\"", count: 10_000) + "\n" + String(repeating: " ", count: 60_000) + "1\n"
        #expect(samples(odd).isEmpty)
    }

    @Test func randomBytesAndMutationsNeverTrap() {
        var generator = SplitMix(seed: 35)
        let base = Array(Self.vllm.utf8)
        let alphabet = Array("{}=\",\\ \n\r#:_aZ09.+-eE".utf8) + [0x00, 0xFF, 0xC3]
        for round in 0..<2_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(generator.next() % 512)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            } else {
                bytes = base
                for _ in 0..<8 {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            for sample in PrometheusText.samples(in: bytes) {
                #expect(!sample.name.isEmpty)
            }
            _ = ServerLoad(metrics: bytes)
        }
    }
}

/// A seeded generator, so a failing input can be found again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
