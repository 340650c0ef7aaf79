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

    /// The most a count of one rollup row is read as (a trillion requests an hour is absurd).
    static let maxCount = 1 << 40
    /// The largest mean a rollup row's sum can give, per value counted (seconds, items, shares).
    static let maxMean = 1e6

    private struct Key: Hashable {
        var worker: String, minerHotkey: String, backend: String, batchSize: Int
        var validator: String, outcome: String, reason: String, status: Int
    }

    /// Summarises the requests received in the hour starting at `hour` whose ids are in
    /// `ids`. Without `merge` the hour's rows are replaced; with it (rows written late into an
    /// hour already rolled up, perhaps after its raw rows went) they are added to them. Returns
    /// the rows written.
    @discardableResult
    static func rollUp(_ db: Database, hour: Double, ids: ClosedRange<Int64>, merge: Bool = false) throws -> Int {
        let end = hour + Self.hour
        var overLimit: [Int64: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT b.request_id, count(*) FROM requests r JOIN batches b ON b.request_id = r.id
            WHERE r.received_at >= ? AND r.received_at < ? AND r.id BETWEEN ? AND ? AND r.largest_batch > ? AND b.items > ?
                AND r.outcome != 'rejected'
            GROUP BY b.request_id
            """, arguments: [hour, end, ids.lowerBound, ids.upperBound, largeBatch, largeBatch]) {
            overLimit[row[0]] = row[1]
        }
        var groups: [Key: GroupTotals] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT id, worker, miner_hotkey, backend, batch_size, validator_hotkey, outcome, reason, status, count,
                   first_batch_at - received_at AS ttfb, finished_at - received_at AS total, received_at - nonce / 1e9 AS lag,
                   queue_wait_s, timeout, items_sent, items_unsent, items_generated, final_answer_sent, batches, largest_batch,
                   batch_span_s, bytes_sent
            FROM requests WHERE received_at >= ? AND received_at < ? AND id BETWEEN ? AND ?
            """, arguments: [hour, end, ids.lowerBound, ids.upperBound])
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
        if merge {
            guard !groups.isEmpty else { return 0 }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM request_rollups WHERE hour = ?", arguments: [hour]) {
                guard let totals = totals(row, largeBatches: true) else { continue }
                let key = Key(
                    worker: row["worker"], minerHotkey: row["miner_hotkey"], backend: row["backend"], batchSize: row["batch_size"],
                    validator: row["validator_hotkey"], outcome: row["outcome"], reason: row["reason"], status: row["status"]
                )
                groups[key, default: GroupTotals()].add(totals)
            }
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
            // Exact percentiles from the hour's own values; from the histogram once merged.
            let delays = totals.firstBatchDelays.sorted()
            var histogram = totals.firstBatchHistogram
            let merged = histogram.total > 0
            for delay in delays { histogram.add(delay) }
            func percentile(_ p: Double) -> Double? { merged ? histogram.percentile(p) : delays.nearestRank(p) }
            let values: [(any DatabaseValueConvertible)?] = [
                hour, key.worker, key.minerHotkey, key.backend, key.batchSize, key.validator, key.outcome, key.reason, key.status,
                totals.requests, totals.itemsSent, totals.itemsUnsent, totals.itemsGenerated, totals.bytesSent,
                Int(totals.batches.sum), totals.largestBatch, totals.batchesAboveLimit, Int(totals.finalAnswer.sum),
                totals.total.sum, totals.total.count, totals.arrivalLag.sum, totals.arrivalLag.count,
                totals.queueWait.sum, totals.queueWait.count, totals.timeout.sum, totals.timeout.count,
                totals.deliveredShare.sum, totals.deliveredShare.count, totals.batchGap.sum, totals.batchGap.count,
                histogram.total, percentile(0.5), percentile(0.95), percentile(0.99), histogram.text,
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
            guard let totals = totals(row, largeBatches: query.largeBatch == largeBatch) else { continue }
            groups[row["key"], default: GroupTotals()].add(totals)
        }
    }

    /// A rollup row as totals; nil for an unknown outcome. Bounded as read: a row edited by
    /// hand to an absurd number gives absurd figures, never a trap, an infinite mean or a JSON
    /// that cannot be written. `largeBatches`: whether its batches over 200 items count.
    static func totals(_ row: Row, largeBatches: Bool) -> GroupTotals? {
        guard let outcome = row["outcome"] as String?, let index = WindowScan.outcomes.firstIndex(of: outcome) else { return nil }
        func count(_ column: String) -> Int { min(max(row[column] as Int? ?? 0, 0), maxCount) }
        func mean(_ sum: String, _ column: String) -> GroupTotals.Mean {
            let n = count(column), value = row[sum] as Double? ?? 0, bound = maxMean * Double(n)
            return .init(sum: value.isFinite ? min(max(value, -bound), bound) : 0, count: n)
        }
        var totals = GroupTotals()
        let requests = count("requests")
        totals.requests = requests
        totals.outcomes[index] = requests
        if index == WindowScan.rejected { totals.rejections[row["reason"] ?? "-"] = requests }
        totals.itemsSent = count("items_sent")
        if outcome.hasSuffix("_timeout") { totals.itemsSentBeforeTimeout = totals.itemsSent }
        totals.itemsUnsent = count("items_unsent")
        totals.itemsGenerated = count("items_generated")
        totals.bytesSent = count("bytes_sent")
        totals.largestBatch = count("largest_batch")
        if largeBatches { totals.batchesAboveLimit = count("batches_over_200") }
        totals.total = mean("total_s_sum", "total_n")
        totals.batches = mean("batches", "total_n")
        totals.finalAnswer = mean("final_answers", "total_n")
        totals.arrivalLag = mean("arrival_lag_s_sum", "arrival_lag_n")
        totals.queueWait = mean("queue_wait_s_sum", "queue_wait_n")
        totals.timeout = mean("timeout_s_sum", "timeout_n")
        totals.deliveredShare = mean("delivered_sum", "delivered_n")
        totals.batchGap = mean("batch_gap_s_sum", "batch_gap_n")
        totals.firstBatchHistogram = TTFBHistogram(text: row["ttfb_histogram"] ?? "")
        return totals
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
