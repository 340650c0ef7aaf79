import Config
import Foundation
import Testing
@testable import Supervisor

/// `miners status` reads each model server's metrics once, all at once, and a server that is
/// down, silent, slow or odd is shown as such within the timeout.
@Suite struct BackendHealthScraperTests {
    /// Long enough that asking five servers one after another (10 s) is told apart from asking
    /// them at once, with seconds of margin for a loaded machine.
    static let timeout = Duration.seconds(2)
    /// Far above what a loaded 2-core machine takes past the timeout, far below "never".
    static let slack = Duration.seconds(20)
    let scraper = BackendHealthScraper(timeout: BackendHealthScraperTests.timeout)

    func openai(_ name: String, _ baseURL: String, metricsURL: String? = nil) -> MinerConfig {
        var http = HTTPBackendConfig(baseURL: baseURL)
        http.metricsURL = metricsURL
        return MinerConfig(name: name, hotkey: "5Grw", port: 1, backend: .openai(OpenAIBackendConfig(http: http, model: "m")))
    }

    func target(_ url: String) -> BackendHealthScraper.Target { .init(endpoint: url, metricsURL: url + "/metrics", miners: ["a"]) }

    func timed(_ work: () async -> BackendHealth) async -> (BackendHealth, Duration) {
        let start = ContinuousClock.now
        let row = await work()
        return (row, ContinuousClock.now - start)
    }

    @Test func oneTargetPerMetricsURLInTheConfigsOrder() {
        let miners = [
            openai("a", "http://gpu:8000/v1"),
            MinerConfig(name: "m", hotkey: "5Grw", port: 1, backend: .mock(MockBackendConfig())),
            MinerConfig(name: "t", hotkey: "5Grw", port: 1, backend: .tgi(TGIBackendConfig(http: HTTPBackendConfig(baseURL: "http://tgi:3000")))),
            openai("b", "http://gpu:8000"),
            openai("c", "http://gpu:8000/v1", metricsURL: "http://gpu:9000/metrics"),
        ]
        #expect(BackendHealthScraper.targets(of: miners) == [
            .init(endpoint: "http://gpu:8000/v1", metricsURL: "http://gpu:8000/metrics", miners: ["a", "b"]),
            .init(endpoint: "http://tgi:3000", metricsURL: "http://tgi:3000/metrics", miners: ["t"]),
            .init(endpoint: "http://gpu:8000/v1", metricsURL: "http://gpu:9000/metrics", miners: ["c"]),
        ])
    }

    @Test func readsTheLoadOfAVLLMServer() async throws {
        let server = try CannedHTTPServer(answer: .ok(PrometheusTextTests.vllm))
        defer { server.close() }
        let row = await scraper.scrape(target(server.url))
        #expect(row == BackendHealth(
            endpoint: server.url, metricsURL: server.url + "/metrics", miners: ["a"], state: .ok,
            load: ServerLoad(server: .vllm, running: 5, waiting: 5, kvCacheUsage: 0.4207)
        ))
    }

    @Test func anotherStatusOrNoKnownMetricIsNoMetrics() async throws {
        let ollama = try CannedHTTPServer(answer: .status(404, "404 page not found"))
        defer { ollama.close() }
        let missing = await scraper.scrape(target(ollama.url))
        #expect(missing.state == .httpError && missing.detail == "HTTP 404" && missing.server == .unknown)

        let other = try CannedHTTPServer(answer: .ok("go_goroutines 12\n"))
        defer { other.close() }
        #expect(await scraper.scrape(target(other.url)).state == .noMetrics)
    }

    @Test func aTextPastTheBoundIsReadUpToIt() async throws {
        let line = "vllm:num_requests_running{model_name=\"m\"} 1\n"
        let server = try CannedHTTPServer(answer: .ok(String(repeating: line, count: 20_000)))
        defer { server.close() }
        var small = scraper
        small.maxBytes = 64 << 10
        let row = await small.scrape(target(server.url))
        #expect(row.state == .ok && row.detail == "longer than 65536 bytes: read the first")
        #expect(row.running == Double((64 << 10) / line.utf8.count))
    }

    @Test func aRefusedConnectionIsUnreachable() async throws {
        let port = try CannedHTTPServer.closedPort()
        let (row, elapsed) = await timed { await scraper.scrape(target("http://127.0.0.1:\(port)")) }
        #expect(row.state == .unreachable && row.detail == "connection refused")
        #expect(elapsed < Self.timeout + Self.slack)
    }

    @Test func aSilentServerIsUnreachableAfterTheTimeout() async throws {
        let server = try CannedHTTPServer(answer: nil)
        defer { server.close() }
        let (row, elapsed) = await timed { await scraper.scrape(target(server.url)) }
        #expect(row.state == .unreachable && row.detail == "no answer within 2s")
        #expect(elapsed >= Self.timeout && elapsed < Self.timeout + Self.slack)
    }

    @Test func aBodyThatNeverEndsIsCutOff() async throws {
        let server = try CannedHTTPServer(answer: .stalled("vllm:num_requests_running 1\n"))
        defer { server.close() }
        let (row, elapsed) = await timed { await scraper.scrape(target(server.url)) }
        #expect(row.state == .unreachable && row.detail == "answer not over within 2.5s")
        #expect(elapsed < Self.timeout + Self.slack)
    }

    @Test func serversAreAskedAtOnce() async throws {
        let silent = try (0..<12).map { _ in try CannedHTTPServer(answer: nil) }
        let good = try CannedHTTPServer(answer: .ok(PrometheusTextTests.vllm))
        defer { (silent + [good]).forEach { $0.close() } }
        let miners = silent.enumerated().map { openai("s\($0)", $1.url) } + [openai("g", good.url)]
        let start = ContinuousClock.now
        let rows = await scraper.scrape(miners)
        // At once: about 2 s; one after another: 24 s or more. The bound is far from both.
        #expect(ContinuousClock.now - start < .seconds(14), "one after another would take 24 s or more")
        #expect(rows.map(\.miners) == (0..<12).map { ["s\($0)"] } + [["g"]])
        #expect(rows.map(\.state) == Array(repeating: .unreachable, count: 12) + [.ok])
    }
}

/// A loopback HTTP server that gives every connection the same answer, from its own thread:
/// nil listens and never accepts (the connection opens, no answer comes).
final class CannedHTTPServer: Sendable {
    enum Answer: Sendable {
        case ok(String)
        case status(Int, String)
        /// A head promising more body than is sent, then silence until the client leaves.
        case stalled(String)
    }

    let fd: Int32
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    struct Failure: Error {}

    init(answer: Answer?) throws {
        (fd, port) = try Self.bound()
        guard listen(fd, 64) == 0 else { throw Failure() }
        guard let answer else { return }
        let (head, body, stall): (String, String, Bool) = switch answer {
        case .ok(let text): ("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(text.utf8.count)", text, false)
        case .status(let code, let text): ("HTTP/1.1 \(code) Nope\r\nContent-Length: \(text.utf8.count)", text, false)
        case .stalled(let text): ("HTTP/1.1 200 OK\r\nContent-Length: \(text.utf8.count + 1_000_000)", text, true)
        }
        let bytes = Array((head + "\r\nConnection: close\r\n\r\n" + body).utf8)
        let fd = fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }  // closed
                var request = [UInt8](repeating: 0, count: 8192)
                _ = read(client, &request, request.count)
                var sent = 0
                while sent < bytes.count {
                    let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    sent += n
                }
                if stall {
                    while read(client, &request, request.count) > 0 {}
                }
                Glibc.close(client)
            }
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    /// A loopback port nothing listens on.
    static func closedPort() throws -> Int {
        let (fd, port) = try bound()
        Glibc.close(fd)
        return port
    }

    static func bound() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw Failure() }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
