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
import TestSupport
import Testing
@testable import Server

/// The worker's HTTP behaviour over a real socket: the captured dendrite request streams, and
/// every malformed request gets the precise refusal and a log row.
@Suite struct WorkerRouteTests {
    let capture: (lines: [String], body: [UInt8])

    init() throws {
        capture = try Fixtures.http("dendrite-request-bittensor-10.5.0.http")
    }

    static let validator = TestValidator()

    /// The captured request's headers, signed afresh by a test validator for `axonHotkey`.
    func signedHeaders(axonHotkey: String = Self.alpha.hotkey, bodyHash: String = Self.captureHash) -> HTTPFields {
        var fields = HTTPFields()
        let fresh = Self.validator.headers(axonHotkey: axonHotkey, bodyHash: bodyHash)
        for (name, value) in Fixtures.fields(capture.lines)
        where !["host", "content-length", "accept-encoding", "accept", "user-agent"].contains(name.lowercased()) {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: fresh.first { $0.0 == name }?.1 ?? value))
        }
        return fields
    }

    var captureHeaders: HTTPFields { signedHeaders() }

    static let captureHash = "476dd90b83bc25c679da27b9a4d74b100bd93bf49adfe54123d47ad80567dcdb"

    static let alpha = MinerConfig(
        name: "alpha", hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", port: 0,
        backend: .mock(MockBackendConfig())
    )

    /// Runs a worker for `miner` on a random port with a fresh database.
    func withWorker(
        _ miner: MinerConfig = Self.alpha,
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws -> DatabaseQueue {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let log = LogWriter(database: database, logger: Logger(label: "test"))
        let admission = try Admission(ownHotkey: miner.hotkey, config: miner.admission)
        let refusals = RefusalLog(log: log, logger: Logger(label: "test"))
        let app = Worker(miner: miner, databasePath: path, logger: Logger(label: "test"))
            .makeApplication(log: log, refusals: refusals, admission: admission)
        try await app.test(.live) { client in try await test(client) }
        refusals.flush()
        log.flush()
        return database
    }

    func requests(_ database: DatabaseQueue) throws -> [Row] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM requests ORDER BY id") }
    }

    @Test func theCapturedRequestStreamsTheAnswerWithTheAxonsHeaders() async throws {
        _ = try await withWorker { client in
            try await client.execute(
                uri: "/StreameinsteinSynapse", method: .post, headers: captureHeaders,
                body: ByteBuffer(bytes: capture.body)
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "The answer is 4. So the final answer is: 4")
                let expected = try Fixtures.fields(Fixtures.http("axon-streaming-response-bittensor-10.5.0.http").lines)
                #expect(response.headers.map { $0.name.canonicalName } == expected.map { $0.name.lowercased() })
                #expect(response.headers[HTTPField.Name("bt_header_axon_status_code")!] == "200")
                #expect(response.headers[HTTPField.Name("bt_header_dendrite_nonce")!] == "1795552238487687740")
                #expect(response.headers[.contentType] == "text/event-stream")
                let processTime = response.headers[HTTPField.Name("bt_header_axon_process_time")!].flatMap(Double.init)
                #expect(processTime.map { $0 >= 0 && $0 < 1 } == true)
            }
        }
    }

    @Test func theRequestIsLoggedWithItsBatches() async throws {
        let (headers, body) = (captureHeaders, capture.body)
        let database = try await withWorker { client in
            try await client.execute(
                uri: "/StreameinsteinSynapse", method: .post, headers: headers, body: ByteBuffer(bytes: body)
            ) { response in #expect(response.status == .ok) }
        }
        let rows = try requests(database)
        #expect(rows.count == 1)
        let row = rows[0]
        #expect(row["outcome"] as String == "complete")
        // The signed headers' values, not the body's copies (which this test leaves as captured).
        #expect(row["uuid"] as String == "test-uuid")
        #expect(row["validator_hotkey"] as String == Self.validator.hotkey)
        #expect(abs(Double(row["nonce"] as Int64) / 1e9 - Date().timeIntervalSince1970) < 60)  // the header's
        #expect(row["timeout"] as Double == 3.0)
        #expect(row["batches"] as Int == 1)
        #expect(row["items_sent"] as Int == 10)
        #expect(row["bytes_sent"] as Int == 42)
        #expect(row["final_answer_sent"] as Bool == true)
    }

    func expectRejection(
        uri: String = "/StreameinsteinSynapse", method: HTTPRequest.Method = .post, headers: HTTPFields? = nil,
        body: [UInt8]? = nil, miner: MinerConfig? = nil,
        status: HTTPResponse.Status, reason: String, message: String
    ) async throws {
        let (headers, body) = (headers ?? captureHeaders, body ?? capture.body)
        let run: @Sendable (any TestClientProtocol) async throws -> Void = { client in
            try await client.execute(
                uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: body)
            ) { response in
                #expect(response.status == status)
                #expect(response.headers[.contentType] == "application/json")
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String]
                #expect(json == ["message": message])
            }
        }
        let database = try await withWorker(miner ?? Self.alpha, run)
        let rows = try requests(database)
        #expect(rows.count == 1)
        #expect(rows.first?["outcome"] as String? == "rejected")
        #expect(rows.first?["status"] as Int? == Int(status.code))
        #expect(rows.first?["reason"] as String? == reason)
    }

    @Test func anUnknownSynapseIs404InThePythonWording() async throws {
        try await expectRejection(
            uri: "/TextToImage", status: .notFound, reason: "unknown_synapse",
            message: "Synapse name 'TextToImage' not found. Available synapses ['StreameinsteinSynapse']"
        )
    }

    @Test func aGetIs405() async throws {
        try await expectRejection(
            method: .get, status: .methodNotAllowed, reason: "method_not_allowed",
            message: "Method Not Allowed: use POST /StreameinsteinSynapse"
        )
    }

    @Test func aMalformedHeaderIs400() async throws {
        var headers = captureHeaders
        headers[HTTPField.Name("timeout")!] = "three"
        try await expectRejection(
            headers: headers, status: .badRequest, reason: "bad_header", message: "Header 'timeout' must be a decimal number, got 'three'"
        )
    }

    @Test func aBodyHashMismatchIs400() async throws {
        let headers = signedHeaders(bodyHash: String(repeating: "0", count: 64))
        try await expectRejection(
            headers: headers, status: .badRequest, reason: "body_hash_mismatch",
            message: "Body hash mismatch: header 'computed_body_hash' is '\(String(repeating: "0", count: 64))' "
                + "but the body's messages hash to '476dd90b83bc25c679da27b9a4d74b100bd93bf49adfe54123d47ad80567dcdb'"
        )
    }

    @Test func invalidJSONIs422() async throws {
        try await expectRejection(
            body: Array("{\"roles\": [\"user\"], ".utf8), status: .unprocessableContent, reason: "invalid_json",
            message: "Request body is not valid JSON: invalid JSON at byte 20: expected a string key"
        )
    }

    @Test func aMissingFieldIs422() async throws {
        try await expectRejection(
            body: Array(#"{"roles": ["user"]}"#.utf8), status: .unprocessableContent, reason: "bad_field",
            message: "Body field 'messages' is required"
        )
    }

    @Test func anotherContentTypeIs415() async throws {
        var headers = captureHeaders
        headers[.contentType] = "text/plain"
        try await expectRejection(
            headers: headers, status: .unsupportedMediaType, reason: "unsupported_media_type",
            message: "Content-Type must be application/json, got 'text/plain'"
        )
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        let miner = MinerConfig(
            name: "small", hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", port: 0, maxBodyBytes: 1024,
            backend: .mock(MockBackendConfig())
        )
        let body = #"{"roles": ["user"], "messages": [""# + String(repeating: "x", count: 2000) + #""]}"#
        try await expectRejection(
            body: Array(body.utf8), miner: miner, status: .contentTooLarge, reason: "body_too_large",
            message: "Request body is larger than the limit of 1024 bytes"
        )
    }
}
