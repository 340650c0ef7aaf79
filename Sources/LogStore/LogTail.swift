import GRDB

/// Reads the log forward from a cursor: what was written since the last read. Row ids grow in
/// commit order (SQLite has one writer at a time), so nothing committed is skipped.
public enum LogTail {
    public struct Cursor: Sendable, Equatable {
        public var requestID: Int64
        public var lifecycleID: Int64
        public init(requestID: Int64 = 0, lifecycleID: Int64 = 0) {
            self.requestID = requestID
            self.lifecycleID = lifecycleID
        }
    }

    /// The figures of one finished request that counters and histograms need.
    public struct Request: Sendable, Equatable {
        public var worker: String
        public var outcome: String
        public var status: Int
        public var reason: String?
        public var batches: Int
        public var itemsSent: Int
        public var itemsUnsent: Int
        public var bytesSent: Int
        public var finalAnswerSent: Bool
        /// Seconds from receipt to the first batch; nil when none was sent.
        public var timeToFirstBatch: Double?
        /// Requests the row stands for (aggregated refusals stand for several).
        public var count = 1
    }

    public struct Event: Sendable, Equatable {
        public var miner: String?
        public var event: String
        /// Set for a service's events (migration 0013).
        public var service: String?

        public init(miner: String?, event: String, service: String? = nil) {
            self.miner = miner
            self.event = event
            self.service = service
        }
    }

    public struct Page: Sendable {
        public var requests: [Request]
        public var events: [Event]
        public var cursor: Cursor
    }

    /// The end of the log now: a tail from here sees only what comes next.
    public static func end(_ database: DatabaseQueue) throws -> Cursor {
        try database.read { db in
            Cursor(
                requestID: try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM requests") ?? 0,
                lifecycleID: try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM lifecycle") ?? 0
            )
        }
    }

    /// Up to `limit` requests and `limit` events after `cursor`, and the cursor past them.
    public static func read(_ database: DatabaseQueue, after cursor: Cursor, limit: Int = 50_000) throws -> Page {
        try database.read { db in
            var next = cursor
            var requests: [Request] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, worker, outcome, status, reason, batches, items_sent, items_unsent, bytes_sent,
                       final_answer_sent, first_batch_at - received_at, count
                FROM requests WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [cursor.requestID, limit])
            while let row = try rows.next() {
                next.requestID = row[0]
                requests.append(Request(
                    worker: row[1], outcome: row[2], status: row[3], reason: row[4], batches: row[5],
                    itemsSent: row[6], itemsUnsent: row[7], bytesSent: row[8], finalAnswerSent: row[9],
                    timeToFirstBatch: row[10], count: max(row[11] as Int, 1)
                ))
            }
            var events: [Event] = []
            let eventRows = try Row.fetchCursor(
                db, sql: "SELECT id, miner, event, service FROM lifecycle WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [cursor.lifecycleID, limit]
            )
            while let row = try eventRows.next() {
                next.lifecycleID = row[0]
                events.append(Event(miner: row[1], event: row[2], service: row[3]))
            }
            return Page(requests: requests, events: events, cursor: next)
        }
    }
}
