import GRDB

/// Hourly summaries of the requests (`request_rollups`), made before retention deletes raw rows:
/// one row per hour and key (miner, hotkey, backend, batch size, validator, outcome, refusal
/// reason, status), holding `GroupTotals` as sums and counts so any window of hours adds up to
/// what the raw rows said. Refusals are kept per reason, not per validator: a stranger's many
/// hotkeys must not grow a table kept forever.
public enum RequestRollups {
    public static let hour = 3600.0
    /// The batch size above which batches are counted (SN1's 200-token chunk limit).
    public static let largeBatch = 200

    public static func hourStart(_ time: Double) -> Double { (time / hour).rounded(.down) * hour }

    private struct Key: Hashable {
        var worker: String, minerHotkey: String, backend: String, batchSize: Int
        var validator: String, outcome: String, reason: String, status: Int
    }

    /// Summarises the requests received in the hour starting at `hour`, replacing the rows the
    /// hour had. Returns the rows written.
    @discardableResult
    static func rollUp(_ db: Database, hour: Double) throws -> Int {
        let end = hour + Self.hour
        var overLimit: [Int64: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT b.request_id, count(*) FROM requests r JOIN batches b ON b.request_id = r.id
            WHERE r.received_at >= ? AND r.received_at < ? AND r.largest_batch > ? AND b.items > ? AND r.outcome != 'rejected'
            GROUP BY b.request_id
            """, arguments: [hour, end, largeBatch, largeBatch]) {
            overLimit[row[0]] = row[1]
        }
        var groups: [Key: GroupTotals] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT id, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status, count,
                   first_batch_at - received_at AS ttfb, finished_at - received_at AS total, received_at - nonce / 1e9 AS lag,
                   queue_wait_s, timeout, items_sent, items_unsent, items_generated, final_answer_sent, batches, largest_batch,
                   batch_span_s, bytes_sent
            FROM requests WHERE received_at >= ? AND received_at < ?
            """, arguments: [hour, end])
        while let row = try rows.next() {
            let outcome: String = row["outcome"]
            guard let index = WindowScan.outcomes.firstIndex(of: outcome) else { continue }
            let refused = index == WindowScan.rejected
            let key = Key(
                worker: row["worker"], minerHotkey: row["miner_hotkey"], backend: row["backend"], batchSize: row["batch_size"],
                validator: refused ? "" : row["validator_hotkey"] ?? "", outcome: outcome,
                reason: refused ? row["reason"] ?? "-" : "", status: row["status"]
            )
            groups[key, default: GroupTotals()].add(
                outcome: index, reason: refused ? key.reason : nil, timeToFirstBatch: row["ttfb"], total: row["total"],
                arrivalLag: row["lag"], queueWait: row["queue_wait_s"], timeout: row["timeout"], itemsSent: row["items_sent"],
                itemsUnsent: row["items_unsent"], itemsGenerated: row["items_generated"], finalAnswerSent: row["final_answer_sent"],
                batches: row["batches"], largestBatch: row["largest_batch"], batchSpan: row["batch_span_s"],
                count: max(row["count"] as Int, 1), bytesSent: row["bytes_sent"]
            )
            if let over = overLimit[row["id"]] { groups[key]!.batchesAboveLimit += over }
        }
        try db.execute(sql: "DELETE FROM request_rollups WHERE hour = ?", arguments: [hour])
        let insert = try db.cachedStatement(sql: """
            INSERT INTO request_rollups (hour, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status,
                requests, items_sent, items_unsent, items_generated, bytes_sent, batches, largest_batch, batches_over_200,
                final_answers, total_s_sum, total_n, arrival_lag_s_sum, arrival_lag_n, queue_wait_s_sum, queue_wait_n,
                timeout_s_sum, timeout_n, delivered_sum, delivered_n, batch_gap_s_sum, batch_gap_n, ttfb_n, ttfb_p50, ttfb_p95,
                ttfb_p99, ttfb_histogram)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (key, totals) in groups {
            let delays = totals.firstBatchDelays.sorted()
            var histogram = TTFBHistogram()
            for delay in delays { histogram.add(delay) }
            let values: [(any DatabaseValueConvertible)?] = [
                hour, key.worker, key.minerHotkey, key.backend, key.batchSize, key.validator, key.outcome, key.reason, key.status,
                totals.requests, totals.itemsSent, totals.itemsUnsent, totals.itemsGenerated, totals.bytesSent,
                Int(totals.batches.sum), totals.largestBatch, totals.batchesAboveLimit, Int(totals.finalAnswer.sum),
                totals.total.sum, totals.total.count, totals.arrivalLag.sum, totals.arrivalLag.count,
                totals.queueWait.sum, totals.queueWait.count, totals.timeout.sum, totals.timeout.count,
                totals.deliveredShare.sum, totals.deliveredShare.count, totals.batchGap.sum, totals.batchGap.count,
                delays.count, delays.nearestRank(0.5), delays.nearestRank(0.95), delays.nearestRank(0.99), histogram.text,
            ]
            try insert.execute(arguments: StatementArguments(values))
        }
        return groups.count
    }

    /// Adds the rollups of the hours in `[query.from, query.to)` (both hour boundaries) to the
    /// groups of an analysis. Batches over the size limit are added only for SN1's 200.
    static func scan(_ db: Database, _ query: RequestAnalysis.Query, into groups: inout [String: GroupTotals]) throws {
        let scan = WindowScan(query: query, timeColumn: "hour")
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \(scan.keyText) AS key, * FROM request_rollups WHERE \(scan.filter)
            """, arguments: StatementArguments(scan.filterArguments))
        while let row = try rows.next() {
            guard let index = WindowScan.outcomes.firstIndex(of: row["outcome"] as String) else { continue }
            var totals = GroupTotals()
            let requests: Int = row["requests"]
            totals.requests = requests
            totals.outcomes[index] = requests
            if index == WindowScan.rejected { totals.rejections[row["reason"]] = requests }
            totals.itemsSent = row["items_sent"]
            if WindowScan.outcomes[index].hasSuffix("_timeout") { totals.itemsSentBeforeTimeout = totals.itemsSent }
            totals.itemsUnsent = row["items_unsent"]
            totals.itemsGenerated = row["items_generated"]
            totals.bytesSent = row["bytes_sent"]
            totals.largestBatch = row["largest_batch"]
            if query.largeBatch == largeBatch { totals.batchesAboveLimit = row["batches_over_200"] }
            let streamed: Int = row["total_n"]
            totals.total = .init(sum: row["total_s_sum"], count: streamed)
            totals.batches = .init(sum: row["batches"], count: streamed)
            totals.finalAnswer = .init(sum: row["final_answers"], count: streamed)
            totals.arrivalLag = .init(sum: row["arrival_lag_s_sum"], count: row["arrival_lag_n"])
            totals.queueWait = .init(sum: row["queue_wait_s_sum"], count: row["queue_wait_n"])
            totals.timeout = .init(sum: row["timeout_s_sum"], count: row["timeout_n"])
            totals.deliveredShare = .init(sum: row["delivered_sum"], count: row["delivered_n"])
            totals.batchGap = .init(sum: row["batch_gap_s_sum"], count: row["batch_gap_n"])
            totals.firstBatchHistogram = TTFBHistogram(text: row["ttfb_histogram"])
            groups[row["key"], default: GroupTotals()].add(totals)
        }
    }

    /// Batches over SN1's limit per group, from the rollups of the hours in `[query.from, query.to)`:
    /// for raw requests whose batch rows retention has deleted.
    static func batchesAboveLimit(_ db: Database, _ query: RequestAnalysis.Query) throws -> [String: Int] {
        let scan = WindowScan(query: query, timeColumn: "hour")
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT \(scan.keyText), sum(batches_over_200) FROM request_rollups WHERE \(scan.filter) GROUP BY 1
            """, arguments: StatementArguments(scan.filterArguments)) {
            result[row[0]] = row[1]
        }
        return result
    }
}
