import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Takes records from the request path without waiting and writes them in batched
/// transactions from its own task. The only writer of its process's database connection;
/// several processes share one file in WAL mode (see `LogDatabase`).
///
/// `record(_:)` never touches SQLite; `run()` flushes every `interval` and once more on
/// graceful shutdown, so a clean stop loses nothing. With a `RequestJournal`, a SIGKILL loses
/// nothing either: each record is appended to the journal before the client sees the end of
/// its response, and the next worker replays the journal (`recover`).
///
/// While the database cannot be written (full or read-only disk, a lock held too long) records
/// wait in memory, up to `maxPending`; beyond that the oldest are dropped and counted, and the
/// count is written to `log_losses` once writing works again.
public final class LogWriter: Service, Sendable {
    private let database: DatabaseQueue
    private enum Entry: Sendable {
        case request(RequestRecord, journalID: String?)
        case lifecycle(LifecycleRecord)
        /// A record already committed whose outcome changed after it was written.
        case correction(RequestRecord)
        case loss(LossRecord)
        case chain(ChainEventRecord)
        case standing(StandingRecord)
    }
    private struct Pending {
        var entries: [Entry] = []
        /// Journal files set aside for records not yet committed.
        var asides: [String] = []
        var lost = 0
        var firstFailure: (at: Double, error: String)?
        /// The run loop, parked while nothing is queued (no wake-ups of an idle worker).
        var waiter: CheckedContinuation<Void, Never>?
        /// The run loop is to end (cancelled or stopping gracefully): it parks no more.
        var stopping = false

        /// Something was queued: the parked run loop starts its interval.
        mutating func wake() {
            waiter?.resume()
            waiter = nil
        }
    }
    private let pending = Mutex(Pending())
    private let interval: Duration
    private let logger: Logger
    /// False only to measure what logging costs (benchmarks): request records are dropped.
    private let recordsRequests: Bool
    public let journal: RequestJournal?
    /// Records held in memory at most while the database cannot be written.
    public let maxPending: Int
    /// The worker whose losses `log_losses` names.
    private let source: String?

    public init(
        database: DatabaseQueue, interval: Duration = .milliseconds(100), logger: Logger, recordsRequests: Bool = true,
        journal: RequestJournal? = nil, maxPending: Int = 50_000, source: String? = nil
    ) {
        self.database = database
        self.interval = interval
        self.logger = logger
        self.recordsRequests = recordsRequests
        self.journal = journal
        self.maxPending = maxPending
        self.source = source
    }

    /// Notes a request as started, in the journal (so a kill before it ends is known); returns
    /// the id its `record` takes.
    public func started(_ record: RequestRecord) -> String? {
        guard recordsRequests else { return nil }
        return journal?.started(record)
    }

    /// Queues a record (and appends it to the journal); returns at once.
    public func record(_ record: RequestRecord, journalID: String? = nil) {
        guard recordsRequests else { return }
        pending.withLock { state in
            // Under the queue's lock, so a flush never sets the journal line aside without the record.
            if let journal { journal.finished(journalID ?? journal.newID(), record) }
            state.entries.append(.request(record, journalID: journalID))
            trim(&state)
            state.wake()
        }
    }

    /// Replaces the record of `journalID` (its outcome changed after it was recorded: the client
    /// left as its end was sent).
    public func correct(_ record: RequestRecord, journalID: String?) {
        guard recordsRequests else { return }
        pending.withLock { state in
            if let journal, let journalID { journal.finished(journalID, record) }
            if let index = state.entries.lastIndex(where: { if case .request(_, let id) = $0, id == journalID, id != nil { true } else { false } }) {
                state.entries[index] = .request(record, journalID: journalID)
            } else {
                state.entries.append(.correction(record))
            }
            state.wake()
        }
    }

    /// Queues a lifecycle event; returns at once.
    public func record(_ event: LifecycleRecord) {
        pending.withLock { state in
            state.entries.append(.lifecycle(event))
            trim(&state)
            state.wake()
        }
    }

    /// Queues a chain event (a serve attempt, a snapshot refresh); returns at once.
    public func record(_ event: ChainEventRecord) {
        pending.withLock { state in
            state.entries.append(.chain(event))
            trim(&state)
            state.wake()
        }
    }

    /// Queues a hotkey's standing at a metagraph refresh; returns at once.
    public func record(_ standing: StandingRecord) {
        pending.withLock { state in
            state.entries.append(.standing(standing))
            trim(&state)
            state.wake()
        }
    }

    /// Drops the oldest entries beyond `maxPending`, counting them.
    private func trim(_ state: inout Pending) {
        let excess = state.entries.count - maxPending
        guard excess > 0 else { return }
        state.entries.removeFirst(excess)
        state.lost += excess
    }

    /// Records the queue holds now (not yet written).
    public var pendingCount: Int { pending.withLock { $0.entries.count } }
    /// Records dropped since the last successful write.
    public var lostCount: Int { pending.withLock { $0.lost } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                // Parked while nothing is queued: an idle worker's writer does not wake up ten
                // times a second. The first record starts the interval; what comes within it
                // joins the same transaction.
                await waitForEntries()
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                try? await Task.sleep(for: interval)
                // A cancelled task cannot start GRDB's async write; the final flush below does it.
                if Task.isCancelled { break }
                await flushInBackground()
            }
        } onGracefulShutdown: { [self] in
            stopWaiting()
        }
        flush()
    }

    /// Returns once something is queued (at once if something is), or the loop is to end.
    private func waitForEntries() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                pending.withLock { state in
                    if !state.entries.isEmpty || state.lost > 0 || state.stopping {
                        waiter.resume()
                    } else {
                        state.waiter = waiter
                    }
                }
            }
        } onCancel: {
            stopWaiting()
        }
    }

    private func stopWaiting() {
        pending.withLock { state in
            state.stopping = true
            state.wake()
        }
    }

    /// Writes everything queued so far in one transaction. A failed write keeps the records
    /// queued for the next attempt, so a busy or briefly full disk loses nothing.
    @discardableResult
    public func flush() -> Int {
        guard let batch = takePending() else { return 0 }
        do {
            try database.write { db in try Self.insert(batch.entries, into: db) }
            return committed(batch)
        } catch {
            return keep(batch, after: error)
        }
    }

    /// As `flush()`, but the transaction runs on the database's own queue while this task is
    /// suspended: the request path's threads never wait on SQLite.
    @discardableResult
    public func flushInBackground() async -> Int {
        guard let batch = takePending() else { return 0 }
        do {
            try await database.write { db in try Self.insert(batch.entries, into: db) }
            return committed(batch)
        } catch {
            return keep(batch, after: error)
        }
    }

    private struct Batch {
        var entries: [Entry]
        var asides: [String]
    }

    /// The queue, with the journal file that holds it set aside; a loss to report joins it.
    private func takePending() -> Batch? {
        pending.withLock { state in
            guard !state.entries.isEmpty else { return nil }
            var entries = state.entries
            state.entries.removeAll()
            if state.lost > 0 {
                entries.append(.loss(LossRecord(
                    at: Date().timeIntervalSince1970, worker: source, lost: state.lost,
                    since: state.firstFailure?.at, error: state.firstFailure?.error
                )))
            }
            if let journal { state.asides.append(journal.rotate()) }
            let batch = Batch(entries: entries, asides: state.asides)
            state.asides.removeAll()
            return batch
        }
    }

    private func committed(_ batch: Batch) -> Int {
        for aside in batch.asides { journal?.committed(aside) }
        let reported = pending.withLock { state -> (lost: Int, since: Double?)? in
            defer { state.firstFailure = nil }
            guard let failure = state.firstFailure else { return nil }
            let lost = batch.entries.reduce(0) { sum, entry in if case .loss(let loss) = entry { sum + loss.lost } else { sum } }
            state.lost -= lost
            return (lost, failure.at)
        }
        if let reported {
            logger.notice("log writing works again (failing since \(reported.since.map { String(Int($0)) } ?? "?")); \(reported.lost) rows were dropped meanwhile")
        }
        return batch.entries.count
    }

    private func keep(_ batch: Batch, after error: any Error) -> Int {
        pending.withLock { state in
            if state.firstFailure == nil {
                logger.error("cannot write the log (\(error)); keeping up to \(maxPending) rows in memory and retrying")
                state.firstFailure = (Date().timeIntervalSince1970, "\(error)")
            }
            // The loss report is made again from the count at the next attempt.
            state.entries.insert(contentsOf: batch.entries.filter { if case .loss = $0 { false } else { true } }, at: 0)
            state.asides.insert(contentsOf: batch.asides, at: 0)
            trim(&state)
        }
        return 0
    }

    private static func insert(_ records: [Entry], into db: Database) throws {
        for record in records {
            switch record {
            case .request(let request, _): try insert(request, into: db)
            case .lifecycle(let event): try insert(event, into: db)
            case .chain(let event): try event.insert(into: db)
            case .standing(let standing): try standing.insert(into: db)
            case .correction(let request):
                try db.execute(
                    sql: "UPDATE requests SET outcome = ?, reason = ? WHERE worker = ? AND received_at = ? AND uuid IS ?",
                    arguments: [request.outcome, request.reason, request.worker, request.receivedAt, request.uuid]
                )
            case .loss(let loss):
                try db.execute(
                    sql: "INSERT INTO log_losses (at, worker, lost, since, error) VALUES (?, ?, ?, ?, ?)",
                    arguments: [loss.at, loss.worker, loss.lost, loss.since, loss.error]
                )
            }
        }
    }

    /// Writes what an earlier worker of this miner journaled and never committed: its finished
    /// records (those not in the database already) and, for requests it started and never
    /// finished, a `stream_error` row with reason `interrupted`. Then removes the journal files.
    /// Returns how many of each were written.
    @discardableResult
    public static func recover(journalPath: String, into database: DatabaseQueue, now: Double = Date().timeIntervalSince1970) throws -> (finished: Int, interrupted: Int) {
        let found = RequestJournal.recover(path: journalPath)
        var counts = (finished: 0, interrupted: 0)
        guard !found.files.isEmpty else { return counts }
        try database.write { db in
            func known(_ record: RequestRecord) throws -> Bool {
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests WHERE worker = ? AND received_at = ? AND uuid IS ?)",
                                  arguments: [record.worker, record.receivedAt, record.uuid]) ?? false
            }
            for record in found.finished where try !known(record) {
                try insert(record, into: db)
                counts.finished += 1
            }
            for var record in found.interrupted where try !known(record) {
                record.outcome = "stream_error"
                record.status = 200
                record.reason = "interrupted"
                record.detail = "the worker ended before this request finished (killed or crashed); found in its journal at restart"
                record.finishedAt = max(record.receivedAt, min(now, record.receivedAt + (record.timeout ?? 0)))
                try insert(record, into: db)
                counts.interrupted += 1
            }
        }
        for file in found.files { unlink(file) }
        return counts
    }

    static func insert(_ record: RequestRecord, into db: Database) throws {
        let request = try db.cachedStatement(sql: """
            INSERT INTO requests (worker, miner_hotkey, synapse, backend, batch_size, validator_hotkey,
                dendrite_ip, dendrite_version, uuid, nonce, timeout, received_at, first_batch_at, finished_at,
                outcome, status, reason, batches, items_sent, bytes_sent, items_generated, items_unsent,
                final_answer_sent, detail, queue_wait_s, backend_first_item_s, backend_items_per_s, prompt_tokens,
                completion_tokens, largest_batch, batch_span_s, claimed_hotkey, count, reasoning_items, reasoning_s)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            record.claimedHotkey, record.count, record.reasoningItems, record.reasoningSeconds,
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
            INSERT INTO lifecycle (at, miner, service, event, pid, exit_code, signal, uptime_s, backoff_s, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                event.at, event.miner, event.service, event.event.rawValue, event.pid, event.exitCode, event.signal,
                event.uptime, event.backoff, event.detail,
            ])
    }
}
