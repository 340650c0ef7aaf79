import Foundation
import GRDB
import LogStore
import Logging
import Testing
@testable import Supervisor

/// The metrics count what the log holds, from the supervisor's start on.
@Suite struct MinerMetricsTests {
    func request(_ miner: String, _ outcome: String, status: Int = 200, reason: String? = nil, batches: Int = 0, firstBatch: Double? = nil, final: Bool = false) -> RequestRecord {
        var record = RequestRecord(
            worker: miner, minerHotkey: "5Grw", synapse: "StreameinsteinSynapse", backend: "mock", batchSize: 4,
            receivedAt: 1000, finishedAt: 1002, outcome: outcome, status: status
        )
        record.reason = reason
        record.firstBatchAt = firstBatch.map { 1000 + $0 }
        record.batches = (0..<batches).map { BatchRecord(sequence: $0, offset: 0.1 * Double($0 + 1), items: 4, bytes: 20, isFinal: false) }
        record.itemsSent = 4 * batches
        record.bytesSent = 20 * batches
        record.itemsGenerated = 4 * batches + (outcome == "partial_timeout" ? 3 : 0)
        record.finalAnswerSent = final
        return record
    }

    /// The value of one sample line, e.g. `miners_requests_total{miner="a",outcome="complete"}`.
    func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    /// fleet: the replication gauges appear once replication runs and go once it is off (a
    /// lag left behind would fire the replication alert).
    @Test func replicationGaugesGoWhenReplicationIsOff() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let metrics = try MinerMetrics(database: database, miners: ["alpha"])
        #expect(!(try await metrics.scrape(status: [])).contains("miners_replication"))

        try await database.write { db in
            try db.execute(sql: "INSERT INTO replication_state (id, host) VALUES (1, 'gpu-1')")
            try db.execute(sql: "INSERT INTO replication_progress (table_name, last_local_id, rows, updated_at) VALUES ('requests', 0, 0, 0)")
        }
        let on = try await metrics.scrape(status: [])
        #expect(sample(on, "miners_replication_lag_seconds") == 0)
        #expect(sample(on, #"miners_replication_backlog_rows{table="requests"}"#) == 0)

        try await database.write { try ReplicationProgress.markOff($0) }
        #expect(try await database.read { try ReplicationProgress.status($0) } == nil)
        #expect(!(try await metrics.scrape(status: [])).contains("miners_replication"))
    }

    @Test func countsRowsWrittenAfterTheStartPerMinerAndOutcome() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        // Before the supervisor started: not counted.
        writer.record(request("alpha", "complete", batches: 3, firstBatch: 0.2, final: true))
        #expect(writer.flush() == 1)

        let metrics = try MinerMetrics(database: database, miners: ["alpha", "beta"])
        let empty = try await metrics.scrape(status: [])
        #expect(sample(empty, #"miners_requests_total{miner="alpha",outcome="complete"}"#) == 0)
        #expect(sample(empty, #"miners_batches_total{miner="beta"}"#) == 0)

        writer.record(request("alpha", "complete", batches: 3, firstBatch: 0.2, final: true))
        writer.record(request("alpha", "partial_timeout", batches: 2, firstBatch: 1.5))
        writer.record(request("beta", "empty_timeout"))
        writer.record(request("beta", "rejected", status: 401, reason: "stale_nonce"))
        writer.record(request("beta", "rejected", status: 401, reason: "stale_nonce"))
        writer.record(request("beta", "rejected", status: 503, reason: "capacity"))
        writer.record(LifecycleRecord(at: 1003, miner: "beta", event: .exit, exitCode: 1))
        writer.record(LifecycleRecord(at: 1003, miner: "beta", event: .backoff, backoff: 0.5))
        #expect(writer.flush() == 8)

        let status = [
            MinerStatus(name: "alpha", hotkey: "5Grw", host: "127.0.0.1", port: 1, backend: "mock", batchSize: 4, state: .running),
            MinerStatus(name: "beta", hotkey: "5Hh2", host: "127.0.0.1", port: 2, backend: "mock", batchSize: 4, state: .backingOff),
        ]
        let text = try await metrics.scrape(status: status)
        #expect(sample(text, #"miners_requests_total{miner="alpha",outcome="complete"}"#) == 1)
        #expect(sample(text, #"miners_requests_total{miner="alpha",outcome="partial_timeout"}"#) == 1)
        #expect(sample(text, #"miners_requests_total{miner="beta",outcome="empty_timeout"}"#) == 1)
        #expect(sample(text, #"miners_requests_total{miner="beta",outcome="rejected"}"#) == 3)
        #expect(sample(text, #"miners_rejections_total{miner="beta",status="401",reason="stale_nonce"}"#) == 2)
        #expect(sample(text, #"miners_rejections_total{miner="beta",status="503",reason="capacity"}"#) == 1)
        #expect(sample(text, #"miners_batches_total{miner="alpha"}"#) == 5)
        #expect(sample(text, #"miners_items_sent_total{miner="alpha"}"#) == 20)
        #expect(sample(text, #"miners_items_unsent_total{miner="alpha"}"#) == 3)
        #expect(sample(text, #"miners_bytes_sent_total{miner="alpha"}"#) == 100)
        #expect(sample(text, #"miners_final_answer_sent_total{miner="alpha"}"#) == 1)
        #expect(sample(text, #"miners_worker_restarts_total{miner="beta"}"#) == 1)
        #expect(sample(text, #"miners_worker_restarts_total{miner="alpha"}"#) == 0)
        #expect(sample(text, #"miners_worker_up{miner="alpha"}"#) == 1)
        #expect(sample(text, #"miners_worker_up{miner="beta"}"#) == 0)
        // 0.2 s and 1.5 s: one in the 0.25 bucket, both by 2 s; requests without a batch are not observed.
        #expect(sample(text, #"miners_time_to_first_batch_seconds_bucket{miner="alpha",le="0.25"}"#) == 1)
        #expect(sample(text, #"miners_time_to_first_batch_seconds_bucket{miner="alpha",le="2.0"}"#) == 2)
        #expect(sample(text, #"miners_time_to_first_batch_seconds_count{miner="alpha"}"#) == 2)
        #expect(sample(text, #"miners_time_to_first_batch_seconds_count{miner="beta"}"#) == 0)

        // A second scrape counts only what came since.
        writer.record(request("alpha", "complete", batches: 1, firstBatch: 0.1))
        #expect(writer.flush() == 1)
        let next = try await metrics.scrape(status: status)
        #expect(sample(next, #"miners_requests_total{miner="alpha",outcome="complete"}"#) == 2)
        #expect(sample(next, #"miners_batches_total{miner="alpha"}"#) == 6)
    }

    @Test func servicesHaveUpHealthSecondsAndRestarts() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)/log.sqlite").path
        let database = try LogDatabase.open(path: path)
        try Migrations.migrate(database)
        let writer = LogWriter(database: database, logger: Logger(label: "test"))
        let metrics = try MinerMetrics(database: database, miners: ["alpha"], services: ["llm", "tgi"])
        let empty = try await metrics.scrape(status: [])
        #expect(sample(empty, #"miners_service_restarts_total{service="llm"}"#) == 0)

        writer.record(LifecycleRecord(at: 1003, miner: nil, event: .backoff, backoff: 1, service: "llm"))
        writer.record(LifecycleRecord(at: 1004, miner: nil, event: .backoff, backoff: 2, service: "llm"))
        writer.record(LifecycleRecord(at: 1005, miner: nil, event: .unhealthy, service: "tgi"))
        #expect(writer.flush() == 3)
        func service(_ name: String, _ state: MinerState, seconds: Double?) -> ServiceStatus {
            ServiceStatus(
                name: name, host: "127.0.0.1", port: 8000, program: "vllm", gpus: [0], state: state, restarts: 2,
                lastCheck: seconds.map { .init(at: 1000, healthy: state == .running, answer: "200", seconds: $0) }, dependents: ["alpha"],
                logLinesLost: 0
            )
        }
        let text = try await metrics.scrape(status: [], services: [service("llm", .running, seconds: 0.25), service("tgi", .unhealthy, seconds: nil)])
        #expect(sample(text, #"miners_service_up{service="llm"}"#) == 1)
        #expect(sample(text, #"miners_service_up{service="tgi"}"#) == 0)
        #expect(sample(text, #"miners_service_health_seconds{service="llm"}"#) == 0.25)
        #expect(sample(text, #"miners_service_restarts_total{service="llm"}"#) == 2)
        #expect(sample(text, #"miners_service_restarts_total{service="tgi"}"#) == 0)
        // A service's events are not a miner's.
        #expect(!text.contains(#"miner="""#))
    }
}
