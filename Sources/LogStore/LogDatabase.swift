import Foundation
import GRDB

/// Opens the log database: WAL so readers (status, reports) never block a writer, and a busy
/// timeout because the supervisor and its workers, one writer each, share one file. Each
/// writes a few batched transactions a second, far below what WAL sustains.
public enum LogDatabase {
    public static func open(path: String) throws -> DatabaseQueue {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        // Switching to WAL needs the file to itself, and SQLite answers "busy" at once rather than
        // waiting when a reader (`miners status` while the supervisor starts) holds it: retry.
        let started = ContinuousClock.now
        while true {
            do {
                try queue.writeWithoutTransaction { db in
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                }
                return queue
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now - started < .seconds(10) {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }
}
