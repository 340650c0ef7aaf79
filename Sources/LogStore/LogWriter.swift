import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Takes records from the request path without waiting and writes them in batched
/// transactions from its own task. The only writer of its process's database connection;
/// several processes share one file in WAL mode (see `LogDatabase`).
///
/// `record(_:)` never touches SQLite; `run()` flushes every `interval` and once more on
/// graceful shutdown, so a clean stop loses nothing.
public final class LogWriter: Service, Sendable {
    private let database: DatabaseQueue
    private enum Entry: Sendable {
        case request(RequestRecord)
        case lifecycle(LifecycleRecord)
    }
    private let pending = Mutex<[Entry]>([])
    private let interval: Duration
    private let logger: Logger
    /// False only to measure what logging costs (benchmarks): request records are dropped.
    private let recordsRequests: Bool

    public init(database: DatabaseQueue, interval: Duration = .milliseconds(100), logger: Logger, recordsRequests: Bool = true) {
        self.database = database
        self.interval = interval
        self.logger = logger
        self.recordsRequests = recordsRequests
    }

    /// Queues a record; returns at once.
    public func record(_ record: RequestRecord) {
        guard recordsRequests else { return }
        pending.withLock { $0.append(.request(record)) }
    }

    /// Queues a lifecycle event; returns at once.
    public func record(_ event: LifecycleRecord) {
        pending.withLock { $0.append(.lifecycle(event)) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await flushInBackground()
            }
        } onGracefulShutdown: {}
        flush()
    }

    /// Writes everything queued so far in one transaction. A failed write keeps the records
    /// queued for the next attempt, so a busy or briefly full disk loses nothing.
    @discardableResult
    public func flush() -> Int {
        let records = takePending()
        guard !records.isEmpty else { return 0 }
        do {
            try database.write { db in try Self.insert(records, into: db) }
            return records.count
        } catch {
            return keep(records, after: error)
        }
    }

    /// As `flush()`, but the transaction runs on the database's own queue while this task is
    /// suspended: the request path's threads never wait on SQLite.
    @discardableResult
    public func flushInBackground() async -> Int {
        let records = takePending()
        guard !records.isEmpty else { return 0 }
        do {
            try await database.write { db in try Self.insert(records, into: db) }
            return records.count
        } catch {
            return keep(records, after: error)
        }
    }

    private func takePending() -> [Entry] {
        pending.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
    }

    private func keep(_ records: [Entry], after error: any Error) -> Int {
        logger.error("could not write \(records.count) log rows, will retry: \(error)")
        pending.withLock { $0.insert(contentsOf: records, at: 0) }
        return 0
    }

    private static func insert(_ records: [Entry], into db: Database) throws {
        for record in records {
            switch record {
            case .request(let request): try insert(request, into: db)
            case .lifecycle(let event): try insert(event, into: db)
            }
        }
    }

    static func insert(_ record: RequestRecord, into db: Database) throws {
        let request = try db.cachedStatement(sql: """
            INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey,
                dendrite_ip, dendrite_version, uuid, nonce, timeout, received_at, first_batch_at, finished_at,
                outcome, status, reason, batches, items_sent, bytes_sent, items_generated, items_unsent,
                final_answer_sent, detail, queue_wait_s, backend_first_item_s, backend_items_per_s, prompt_tokens,
                completion_tokens, largest_batch, batch_span_s)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let values: [(any DatabaseValueConvertible)?] = [
            record.worker, record.minerHotkey, record.synapse, record.backend, record.batchSize,
            record.validatorHotkey, record.dendriteIP, record.dendriteVersion, record.uuid, record.nonce,
            record.timeout, record.receivedAt, record.firstBatchAt, record.finishedAt, record.outcome,
            record.status, record.reason, record.batches.count, record.itemsSent, record.bytesSent,
            record.itemsGenerated, record.itemsUnsent, record.finalAnswerSent, record.detail, record.queueWait,
            record.backendFirstItem, record.backendItemsPerSecond, record.promptTokens, record.completionTokens,
            record.batches.map(\.items).max() ?? 0,
            record.batches.isEmpty ? nil : record.batches.map(\.offset).max()! - record.batches.map(\.offset).min()!,
        ]
        try request.execute(arguments: StatementArguments(values))
        let requestID = db.lastInsertedRowID
        // One statement for all of a request's batches (prepared once per count): far fewer
        // statement steps than a row at a time.
        for chunk in stride(from: 0, to: record.batches.count, by: 64) {
            let rows = record.batches[chunk..<min(chunk + 64, record.batches.count)]
            let batch = try db.cachedStatement(
                sql: "INSERT INTO batches (request_id, seq, offset_s, items, bytes, final) VALUES "
                    + repeatElement("(?, ?, ?, ?, ?, ?)", count: rows.count).joined(separator: ", ")
            )
            var values: [(any DatabaseValueConvertible)?] = []
            values.reserveCapacity(rows.count * 6)
            for row in rows { values += [requestID, row.sequence, row.offset, row.items, row.bytes, row.isFinal] }
            try batch.execute(arguments: StatementArguments(values))
        }
        if let timeout = record.timeoutEvent {
            try db.cachedStatement(sql: """
                INSERT INTO timeouts (request_id, at, limit_s, elapsed_s, batches_sent, items_dropped)
                VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    requestID, timeout.at, timeout.limit, timeout.elapsed, timeout.batchesSent, timeout.itemsDropped,
                ])
        }
    }

    static func insert(_ event: LifecycleRecord, into db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO lifecycle (at, miner, event, pid, exit_code, signal, uptime_s, backoff_s, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                event.at, event.miner, event.event.rawValue, event.pid, event.exitCode, event.signal,
                event.uptime, event.backoff, event.detail,
            ])
    }
}
