import Config
import Foundation
import Logging
import PostgresNIO

/// The fleet's PostgreSQL database: where every host's log rows are replicated. Its schema is
/// `migrations/postgres/NNNN_name.sql`, embedded at build time (the EmbedMigrations plugin)
/// and applied in order; `fleet_migrations` records each applied file.
public enum FleetDatabase {
    /// The migration files this binary carries, in order.
    public static var migrationFiles: [String] { embeddedMigrations.map(\.file) }

    public struct Newer: Error, CustomStringConvertible {
        public var unknown: [String]
        public var description: String {
            "the fleet database was migrated by a newer miners binary (unknown migrations: \(unknown.joined(separator: ", "))); upgrade miners"
        }
    }

    /// A client for `url`: bounded connect time, statement and idle-in-transaction timeouts on
    /// the server, at most two connections (the replicator uses one at a time).
    public static func clientConfiguration(_ url: PostgresURL) -> PostgresClient.Configuration {
        var unchecked = TLSConfiguration.makeClientConfiguration()
        unchecked.certificateVerification = .none
        let tls: PostgresClient.Configuration.TLS
        switch url.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(unchecked)
        case .require: tls = .require(unchecked)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password?.value, database: url.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 2
        configuration.options.connectionIdleTimeout = .seconds(120)
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "60000"), ("idle_in_transaction_session_timeout", "120000"), ("application_name", "miners"),
        ]
        return configuration
    }

    /// Applies the missing migrations, each in a transaction with its `fleet_migrations` row,
    /// under an advisory lock (hosts starting at once apply each file once). Returns the files
    /// applied now.
    @discardableResult
    public static func migrate(_ client: PostgresClient, logger: Logger, timeout: Double = 120) async throws -> [String] {
        try await withTimeout(timeout, "migrating the fleet database") {
            try await client.withConnection { connection in
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS fleet_migrations (file text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                // A migration file holds several statements: run through EXECUTE (the extended
                // protocol takes one statement at a time), with the text as a parameter.
                try await connection.query("""
                    CREATE OR REPLACE FUNCTION pg_temp.fleet_exec(sql text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE sql; END $$
                    """, logger: logger)
                var applied: [String] = []
                for migration in embeddedMigrations {
                    let done = try await connection.withTransaction(logger: logger) { connection in
                        try await connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x6d696e657273)))", logger: logger)
                        let rows = try await connection.query("SELECT file FROM fleet_migrations", logger: logger)
                        var known: Set<String> = []
                        for try await (file) in rows.decode(String.self) { known.insert(file) }
                        let unknown = known.subtracting(migrationFiles).sorted()
                        if !unknown.isEmpty { throw Newer(unknown: unknown) }
                        if known.contains(migration.file) { return false }
                        try await connection.query("SELECT pg_temp.fleet_exec(\(migration.sql))", logger: logger)
                        try await connection.query("INSERT INTO fleet_migrations (file) VALUES (\(migration.file))", logger: logger)
                        return true
                    }
                    if done {
                        applied.append(migration.file)
                        logger.notice("fleet database: applied \(migration.file)")
                    }
                }
                return applied
            }
        }
    }
}

public struct FleetTimeout: Error, CustomStringConvertible {
    public var what: String
    public var seconds: Double
    public var description: String { "\(what) took longer than \(Int(seconds)) s" }
}

/// `body`, cancelled after `seconds`.
func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw FleetTimeout(what: what, seconds: seconds)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// An error's text for logs and `miners status`: PostgreSQL's own message when there is one,
/// never the password or the URL, at most 500 bytes.
func describe(_ error: any Error, hiding secrets: [Secret]) -> String {
    var text: String
    if let error = error as? PSQLError {
        switch error.code {
        case .server:
            let message = error.serverInfo?[.message] ?? "?"
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            text = "PostgreSQL: \(message)\(state)"
        case .connectionError, .serverClosedConnection, .clientClosedConnection:
            text = "connection: \(error.code)\(error.underlying.map { ": \($0)" } ?? "")"
        default:
            text = "\(error.code)\(error.underlying.map { ": \($0)" } ?? "")"
        }
    } else {
        text = "\(error)"
    }
    for secret in secrets { text = secret.redact(text) }
    if text.utf8.count > 500 { text = String(decoding: text.utf8.prefix(500), as: UTF8.self) + "…" }
    return text
}
