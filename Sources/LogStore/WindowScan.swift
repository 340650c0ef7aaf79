import GRDB
import GRDBSQLite

/// Reads the requests of an analysis window once, row by row through SQLite's own API (the
/// generic row decoding costs more than the scan at a million rows), and adds each to its group.
struct WindowScan {
    static let outcomes = RequestRecord.outcomes
    static let rejected = outcomes.firstIndex(of: "rejected")!
    /// Joins the parts of a group's key: a control character no hotkey or name contains.
    static let separator = "\u{1F}"

    let query: RequestAnalysis.Query
    /// The group as one text, computed by SQLite.
    let keyText: String
    let filter: String
    let filterArguments: [(any DatabaseValueConvertible)?]

    /// - Parameter timeColumn: `received_at` for requests, `hour` for their rollups (which have
    ///   the same key columns, with '' for a missing validator).
    init(query: RequestAnalysis.Query, timeColumn: String = "received_at") {
        self.query = query
        let keys = query.groupBy.map { "coalesce(nullif(CAST(\($0.column) AS TEXT), ''), '-')" }
        keyText = keys.isEmpty ? "''" : keys.joined(separator: " || char(31) || ")
        var conditions = ["\(timeColumn) >= ?", "\(timeColumn) < ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [query.from, query.to]
        for (dimension, values) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !values.isEmpty {
            conditions.append("CAST(\(dimension.column) AS TEXT) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
            arguments += values.map { $0 }
        }
        filter = conditions.joined(separator: " AND ")
        filterArguments = arguments
    }

    static func parts(of key: String) -> [String] {
        key.isEmpty ? [] : key.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }

    func scan(_ db: Database, into groups: inout [String: GroupTotals]) throws {
        // A window holding most of the table is read faster in table order than through the
        // time index (a lookup per row).
        let inWindow = try Int.fetchOne(db, sql: "SELECT count(*) FROM requests WHERE received_at >= ? AND received_at < ?", arguments: [query.from, query.to]) ?? 0
        let total = try Int.fetchOne(db, sql: "SELECT coalesce(max(id), 0) - coalesce(min(id), 0) + 1 FROM requests") ?? 0
        let source = inWindow * 4 > total ? "requests NOT INDEXED" : "requests"
        let outcomeIndex = "CASE outcome " + Self.outcomes.enumerated().map { "WHEN '\($1)' THEN \($0)" }.joined(separator: " ") + " END"
        let statement = try db.makeStatement(sql: """
            SELECT \(keyText), \(outcomeIndex), coalesce(reason, '-'), received_at, first_batch_at - received_at,
                   finished_at - received_at, received_at - nonce / 1e9, queue_wait_s, timeout, items_sent, items_unsent,
                   items_generated, final_answer_sent, batches, largest_batch, batch_span_s, count, bytes_sent
            FROM \(source) WHERE \(filter)
            """)
        try statement.setArguments(StatementArguments(filterArguments))
        let raw = statement.sqliteStatement
        // Groups by position, so that each row's totals are changed in place.
        var keys = Array(groups.keys)
        var totals = keys.map { groups[$0]! }
        var index = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        func text(_ column: Int32) -> String {
            String(cString: sqlite3_column_text(raw, column))
        }
        func optionalDouble(_ column: Int32) -> Double? {
            sqlite3_column_type(raw, column) == SQLITE_NULL ? nil : sqlite3_column_double(raw, column)
        }
        func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
        while true {
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage) }
            let key = text(0)
            let group: Int
            if let known = index[key] {
                group = known
            } else {
                group = keys.count
                index[key] = group
                keys.append(key)
                totals.append(GroupTotals())
            }
            let outcome = Int(sqlite3_column_int64(raw, 1))
            totals[group].add(
                outcome: outcome, reason: outcome == Self.rejected ? text(2) : nil,
                timeToFirstBatch: optionalDouble(4), total: sqlite3_column_double(raw, 5), arrivalLag: optionalDouble(6),
                queueWait: optionalDouble(7), timeout: optionalDouble(8), itemsSent: int(9), itemsUnsent: int(10),
                itemsGenerated: int(11), finalAnswerSent: int(12) != 0, batches: int(13), largestBatch: int(14),
                batchSpan: optionalDouble(15), count: max(int(16), 1), bytesSent: int(17)
            )
        }
        groups = Dictionary(uniqueKeysWithValues: zip(keys, totals))
    }
}

extension Array where Element == Double {
    /// The percentile `p` (0...1) of sorted values by nearest rank: the smallest value with at
    /// least that share of the values at or below it. Nil for no values.
    public func nearestRank(_ p: Double) -> Double? {
        isEmpty ? nil : self[Swift.max(1, Int((p * Double(count)).rounded(.up))) - 1]
    }
}
