import GRDB

/// One alert message as the supervisor posted it (`alerts`, migration 0016).
public struct AlertRecord: Sendable, Equatable, Codable {
    public var at: Double
    public var kind: String
    public var subject: String
    public var noun: String
    /// `firing` or `resolved`.
    public var state: String
    public var since: Double
    public var detail: String

    public init(at: Double, kind: String, subject: String, noun: String, state: String, since: Double, detail: String) {
        self.at = at
        self.kind = kind
        self.subject = subject
        self.noun = noun
        self.state = state
        self.since = since
        self.detail = detail
    }

    public static func insert(_ records: [AlertRecord], into database: DatabaseQueue) async throws {
        try await database.write { db in
            for record in records {
                try db.execute(
                    sql: "INSERT INTO alerts (at, kind, subject, noun, state, since, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [record.at, record.kind, record.subject, record.noun, record.state, record.since, record.detail]
                )
            }
        }
    }

    /// The alerts whose newest message says firing, oldest first.
    public static func firing(_ database: DatabaseQueue) throws -> [AlertRecord] {
        try database.read { db in
            guard try db.tableExists("alerts") else { return [] }
            // Cast by SQLite: a hand-edited row reads as text and numbers (text as 0), never
            // traps the decoder of the supervisor that takes these alerts up at its start.
            return try Row.fetchAll(db, sql: """
                SELECT coalesce(CAST(at AS REAL), 0), coalesce(CAST(kind AS TEXT), ''), coalesce(CAST(subject AS TEXT), ''),
                       coalesce(CAST(noun AS TEXT), ''), coalesce(CAST(state AS TEXT), ''), coalesce(CAST(since AS REAL), 0),
                       coalesce(CAST(detail AS TEXT), '')
                FROM alerts WHERE id IN (SELECT max(id) FROM alerts GROUP BY kind, subject) AND state = 'firing'
                ORDER BY since, id
                """).map {
                AlertRecord(at: $0[0], kind: $0[1], subject: $0[2], noun: $0[3], state: $0[4], since: $0[5], detail: $0[6])
            }
        }
    }
}
