import ArgumentParser
import Fleet
import Foundation
import GRDB
import LogStore

/// `--db postgres://…` for `status` and `report`: the fleet's PostgreSQL (FleetAnalysis) next to
/// SQLite files. A URL is only ever printed redacted.
enum FleetStatus {
    /// The local database of the live part of `status`: the first --db that is a file, else the config's.
    static func localDatabase(_ target: ControlTarget) throws -> String {
        guard target.db.contains(where: FleetURL.isPostgres) else { return try target.database() }
        if let path = target.db.first(where: { !FleetURL.isPostgres($0) }) { return path }
        if target.config != nil { return try ControlTarget(config: target.config).database() }
        return "(no local database: only postgres --db given)"
    }

    /// The analysis over every --db: SQLite files merged as before; each PostgreSQL's figures
    /// added group by group (a fleet database and a host's file would count that host twice).
    static func analysis(_ paths: [String], _ query: RequestAnalysis.Query) async throws -> ([RequestAnalysis.Figures], RequestAnalysis.Coverage?) {
        let urls = try paths.filter(FleetURL.isPostgres).map { try FleetURL($0) }
        let files = paths.filter { !FleetURL.isPostgres($0) }
        guard !urls.isEmpty else {
            let databases = try open(files)
            return (try RequestAnalysis.run(databases, query), try RequestAnalysis.coverage(databases, query))
        }
        guard files.isEmpty, urls.count == 1 else {
            throw ValidationError("give one postgres:// --db alone: mixing it with SQLite files or other PostgreSQL databases is not supported yet")
        }
        return (try await FleetAnalysis.run(urls[0], query), nil)
    }

    static func open(_ paths: [String]) throws -> [DatabaseQueue] {
        try paths.map { path in
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path)") }
            return try LogDatabase.open(path: path)
        }
    }

    /// Names for a `wrote … from` line: URLs redacted.
    static func names(_ paths: [String]) -> String {
        paths.map(FleetURL.redact).joined(separator: ", ")
    }
}

extension ControlTarget {
    init(config: String?) {
        self.init()
        self.config = config
    }
}
