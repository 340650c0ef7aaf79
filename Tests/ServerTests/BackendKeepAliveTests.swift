import Backends
import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing
@testable import Server

/// Ollama's keep-alive: sent at start and every interval on the worker's clock, through a
/// failing server, until the group stops.
@Suite struct BackendKeepAliveTests {
    @Test func keepAliveIsSentAtStartAndEveryIntervalUntilTheWorkerStops() async throws {
        let calls = Mutex<[Data]>([])
        let failing = Mutex(false)
        let router = Router()
        router.post("api/generate") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            let data = Data(body.readableBytesView)
            calls.withLock { $0.append(data) }
            return Response(status: failing.withLock { $0 } ? .serviceUnavailable : .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            var http = HTTPBackendConfig(baseURL: "http://127.0.0.1:\(client.port!)/v1")
            http.keepAlive = .duration("30m")
            let backend = OpenAIBackend(OpenAIBackendConfig(http: http, model: "qwen3"))
            let clock = ManualClock()
            let service = BackendKeepAlive(
                server: try #require(backend.server), value: .duration("30m"), clock: clock, logger: Logger(label: "test")
            )
            let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(await clock.waitForSleepers(1))
                #expect(calls.withLock { $0.count } == 1)
                failing.withLock { $0 = true }
                clock.advance(by: .seconds(29))
                #expect(calls.withLock { $0.count } == 1, "not before the interval")
                clock.advance(by: .seconds(1))
                #expect(await clock.waitForSleepers(1))
                #expect(calls.withLock { $0.count } == 2, "a failed call is tried again next round")
                failing.withLock { $0 = false }
                clock.advance(by: .seconds(30))
                #expect(await clock.waitForSleepers(1))
                #expect(calls.withLock { $0.count } == 3)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            for data in calls.withLock({ $0 }) {
                let call = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                #expect(call["model"] as? String == "qwen3" && call["keep_alive"] as? String == "30m")
            }
            await backend.shutdown()
        }
    }
}
