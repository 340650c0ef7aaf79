import Admission
import Config
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LogStore
import Logging
import NIOCore
import Testing
@testable import Server

/// A worker behind a backend gate (`--backend-gate`): 503 `backend_not_ready` with the
/// supervisor's reason until its services are reported ready, then it streams; closed again on
/// `not_ready`.
@Suite struct BackendGateTests {
    @Test func requestsAreRefusedUntilTheServicesAreReadyAndAgainWhenTheyAreNot() async throws {
        let routes = try WorkerRouteTests()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        let miner = WorkerRouteTests.alpha
        let admission = try Admission(ownHotkey: miner.hotkey, config: miner.admission)
        let refusals = RefusalLog(log: log, logger: Logger(label: "test"))
        let gate = BackendGate(server: nil, logger: Logger(label: "test"))
        let worker = Worker(miner: miner, databasePath: path, logger: Logger(label: "test"))

        /// Posts the captured request, freshly signed, to a server of its own (a refusal before
        /// the body closes the connection); returns the status, the body and the status message.
        @Sendable func post() async throws -> (HTTPResponse.Status, String, String?) {
            let app = worker.makeApplication(log: log, refusals: refusals, admission: admission, gate: gate)
            return try await app.test(.live) { client in
                try await client.execute(
                    uri: "/StreameinsteinSynapse", method: .post, headers: routes.signedHeaders(), body: ByteBuffer(bytes: routes.capture.body)
                ) { response in
                    (response.status, String(buffer: response.body), response.headers[HTTPField.Name("bt_header_axon_status_message")!])
                }
            }
        }

        /// Waits until the gate has taken the last report (its consumer runs beside the server).
        @Sendable func settle(open: Bool) async {
            for _ in 0..<400 where (gate.refusal == nil) != open { try? await Task.sleep(for: .milliseconds(5)) }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gate.run() }
            do {
                let closed = try await post()
                #expect(closed.0 == .serviceUnavailable)
                #expect(closed.1 == #"{"message":"Service unavailable: the miner's model server is not ready"}"#)
                #expect(closed.2 == "Service unavailable: the miner's model server is not ready")
                #expect(gate.reason == "waiting for the supervisor to report its services")

                gate.report(.notReady("service 'smollm' is starting"))
                try? await Task.sleep(for: .milliseconds(50))
                let starting = try await post()
                #expect(starting.0 == .serviceUnavailable)
                // The reason stays in the worker: a stranger learns nothing of the servers.
                #expect(!starting.1.contains("smollm"))
                #expect(gate.reason == "service 'smollm' is starting")

                gate.report(.ready)
                await settle(open: true)
                let served = try await post()
                #expect(served.0 == .ok)
                #expect(served.1 == "The answer is 4. So the final answer is: 4")

                gate.report(.notReady("service 'smollm' is unhealthy: 503 Loading model"))
                await settle(open: false)
                let unhealthy = try await post()
                #expect(unhealthy.0 == .serviceUnavailable)
                #expect(gate.reason == "service 'smollm' is unhealthy: 503 Loading model")
            }
            group.cancelAll()
        }
        refusals.flush()
        log.flush()
        let rows = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT outcome, status, reason, count FROM requests ORDER BY id")
        }
        let refused = rows.filter { $0["reason"] as String? == "backend_not_ready" }
        #expect(refused.reduce(0) { $0 + ($1["count"] as Int) } == 3)
        #expect(refused.allSatisfy { $0["status"] as Int == 503 && $0["outcome"] as String == "rejected" })
        #expect(rows.contains { $0["outcome"] as String == "complete" })
    }

    @Test func theSupervisorsLinesAreReadAsReports() {
        #expect(SupervisorPipe.gateReport(Array("ready".utf8)) == .ready)
        #expect(SupervisorPipe.gateReport(Array("not_ready service 'a' is starting".utf8)) == .notReady("service 'a' is starting"))
        #expect(SupervisorPipe.gateReport(Array("stop".utf8)) == nil)
        #expect(SupervisorPipe.gateReport(Array("readyx".utf8)) == nil)
        #expect(SupervisorPipe.gateReport(Array("not_ready".utf8)) == nil)
    }
}
