import Foundation
import GRDB

/// Opens the log database: WAL so readers (status, reports) never block a writer, and a busy
/// timeout because the supervisor and its workers, one writer each, share one file. Each
/// writes a few batched transactions a second, far below what WAL sustains.
public enum LogDatabase {
    /// `cacheKiB` bounds the connection's page cache (SQLite's default is 2,000 KiB, which an
    /// appending writer fills with pages it never reads again).
    public static func open(path: String, cacheKiB: Int? = nil) throws -> DatabaseQueue {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        if let cacheKiB {
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -\(max(64, cacheKiB))") }
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        // Switching to WAL needs the file to itself, and SQLite answers "busy" at once rather than
        // waiting when a reader (`miners status` while the supervisor starts) holds it: retry.
        let started = ContinuousClock.now
        while true {
            do {
                try queue.writeWithoutTransaction { db in
                    // A new file gives pages freed by retention back to the file system
                    // (`RetentionPass`); the mode can only be chosen before the first table.
                    if try Int.fetchOne(db, sql: "PRAGMA page_count") == 0 {
                        try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                    }
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                }
                return queue
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now - started < .seconds(10) {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    /// Whether freed pages can be given back to the file system a few at a time.
    public static func hasIncrementalVacuum(_ queue: DatabaseQueue) throws -> Bool {
        try queue.read { try Int.fetchOne($0, sql: "PRAGMA auto_vacuum") } == 2
    }

    /// Turns incremental vacuum on in a file made without it: one full `VACUUM`, which rewrites
    /// the file (it needs as much free disk again, and holds the write lock meanwhile).
    public static func enableIncrementalVacuum(_ queue: DatabaseQueue) throws {
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
        }
    }
}
