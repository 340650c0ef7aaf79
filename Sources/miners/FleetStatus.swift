import ArgumentParser
import Config
import Fleet
import Foundation
import GRDB
import LogStore

/// `--db postgres://…` for `status` and `report`: the fleet's PostgreSQL (FleetAnalysis) next to
/// SQLite files. A URL is only ever printed without its password.
enum FleetStatus {
    /// The --db values taken apart: PostgreSQL URLs (parsed) and SQLite files.
    struct Sources {
        var urls: [PostgresURL] = []
        var files: [String] = []

        init(_ paths: [String]) throws {
            for path in paths {
                guard PostgresURL.isPostgres(path) else {
                    files.append(path)
                    continue
                }
                do {
                    urls.append(try PostgresURL.parse(path))
                } catch {
                    throw ValidationError("--db: not a PostgreSQL URL: it \(error)")
                }
            }
        }

        /// Every source by name, URLs without their passwords.
        var names: String { (urls.map(\.description) + files).joined(separator: ", ") }
    }

    /// The local database of the live part of `status`: the first --db that is a file, else the config's.
    static func localDatabase(_ target: ControlTarget) throws -> String {
        guard target.db.contains(where: PostgresURL.isPostgres) else { return try target.database() }
        if let path = target.db.first(where: { !PostgresURL.isPostgres($0) }) { return path }
        if target.config != nil { return try ControlTarget(config: target.config).database() }
        return "(no local database: only postgres --db given)"
    }

    /// The analysis over every --db, added group by group: SQLite files as before, each
    /// PostgreSQL's figures computed there. (A fleet database and a host's own file name the
    /// same requests: given both, that host counts twice.)
    static func analysis(_ paths: [String], _ query: RequestAnalysis.Query) async throws -> ([RequestAnalysis.Figures], RequestAnalysis.Coverage?) {
        let sources = try Sources(paths)
        var fleet: [RequestAnalysis.KeyedTotals] = []
        for url in sources.urls { fleet += try await FleetAnalysis.totals(url, query) }
        let databases = try open(sources.files)
        let coverage = databases.isEmpty ? nil : try RequestAnalysis.coverage(databases, query)
        return (try RequestAnalysis.run(databases, query, adding: fleet), coverage)
    }

    static func open(_ paths: [String]) throws -> [DatabaseQueue] {
        try paths.map { path in
            guard FileManager.default.fileExists(atPath: path) else {
                // A mistyped URL is not echoed: it may hold a password.
                guard !path.contains("://") else { throw ValidationError("--db: no such file, and not a postgres:// or postgresql:// URL") }
                throw ValidationError("no database at \(path)")
            }
            return try LogDatabase.open(path: path)
        }
    }
}

extension ControlTarget {
    init(config: String?) {
        self.init()
        self.config = config
    }
}
