import Config
import Foundation
import Logging
import PostgresNIO
import Synchronization

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

    /// TLS for `url.sslMode` other than disable: the certificate checked only for verify-full.
    static func tls(verifying: Bool) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !verifying { configuration.certificateVerification = .none }
        return configuration
    }

    /// A client for `url`: bounded connect time, statement and idle-in-transaction timeouts on
    /// the server, at most two connections (the replicator uses one at a time).
    public static func clientConfiguration(_ url: PostgresURL) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch url.sslMode {
        case .disable: .disable
        case .prefer: .prefer(tls(verifying: false))
        case .require: .require(tls(verifying: false))
        case .verifyFull: .require(tls(verifying: true))
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password?.value, database: url.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 2
        configuration.options.connectionIdleTimeout = .seconds(120)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// One connection's configuration for `url`, with the client's TLS and server-side timeouts;
    /// `timeout` (seconds) bounds the connect, every statement and every lock wait instead.
    static func connectionConfiguration(_ url: PostgresURL, timeout: Double? = nil) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch url.sslMode {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tls(verifying: false)))
        case .require: .require(try NIOSSLContext(configuration: tls(verifying: false)))
        case .verifyFull: .require(try NIOSSLContext(configuration: tls(verifying: true)))
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password?.value, database: url.database, tls: tls
        )
        configuration.options.connectTimeout = .milliseconds(Int64((timeout ?? 10) * 1000))
        // The analysis's statements are estimated costly enough for PostgreSQL to compile them
        // (JIT), which took 0.85 s of a 1.2 s query over 30 M requests: never worth it here.
        var parameters = startupParameters + [("jit", "off")]
        if let timeout {
            let milliseconds = "\(Int((timeout * 1000).rounded(.up)))"
            parameters = parameters.filter { $0.0 != "statement_timeout" } + [("statement_timeout", milliseconds), ("lock_timeout", milliseconds)]
        }
        configuration.options.additionalStartupParameters = parameters
        return configuration
    }

    /// Runs `body` on `count` new connections, closed after; every error names the URL without
    /// its password.
    static func withConnections<T: Sendable>(
        _ url: PostgresURL, count: Int, timeout: Double? = nil, logger: Logger, _ body: ([PostgresConnection]) async throws -> T
    ) async throws -> T {
        var connections: [PostgresConnection] = []
        do {
            let configuration = try connectionConfiguration(url, timeout: timeout)
            for id in 0..<count {
                connections.append(try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger))
            }
            let result = try await body(connections)
            for connection in connections { try? await connection.close() }
            return result
        } catch {
            for connection in connections { try? await connection.close() }
            if error is FleetAnalysisError { throw error }
            let what = connections.count < count ? "cannot connect to" : "failed at"
            throw FleetAnalysisError("\(what) \(url): \(describe(error, hiding: url.password.map { [$0] } ?? []))")
        }
    }

    static let startupParameters = [
        ("statement_timeout", "60000"), ("idle_in_transaction_session_timeout", "120000"), ("application_name", "miners"),
    ]

    /// Applies the missing migrations, each in a transaction with its `fleet_migrations` row,
    /// under an advisory lock (hosts starting at once apply each file once). Returns the files
    /// applied now. `last` (tests): stop after that file.
    @discardableResult
    public static func migrate(
        _ client: some FleetSession, through last: String? = nil, logger: Logger, timeout: Double = 120
    ) async throws -> [String] {
        try await withTimeout(timeout, "migrating the fleet database") {
            try await client.onConnection { connection in
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS fleet_migrations (file text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                // A migration file holds several statements: run through EXECUTE (the extended
                // protocol takes one statement at a time), with the text as a parameter.
                try await connection.query("""
                    CREATE OR REPLACE FUNCTION pg_temp.fleet_exec(sql text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE sql; END $$
                    """, logger: logger)
                var applied: [String] = []
                for migration in embeddedMigrations where last.map({ migration.file <= $0 }) ?? true {
                    let done = try await connection.withTransaction(logger: logger) { connection in
                        try await connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x6d696e657273)))", logger: logger)
                        let rows = try await connection.query("SELECT file FROM fleet_migrations", logger: logger)
                        var known: Set<String> = []
                        for try await (file) in rows.decode(String.self) { known.insert(file) }
                        let unknown = known.subtracting(migrationFiles).sorted()
                        if !unknown.isEmpty { throw Newer(unknown: unknown) }
                        if known.contains(migration.file) { return false }
                        // A migration may move every row of a large fleet (0003: a minute at 100 M
                        // requests): the server's statement timeout does not apply to it.
                        try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
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

/// `body`, cancelled after `seconds`; returns or throws by then whatever the body does.
///
/// The body runs in a task of its own that is cancelled, not awaited, at the bound: a body that
/// does not answer cancellation at once (a PostgreSQL connection attempt or a query in flight
/// ends only when the server answers) must not hold the replicator — or a graceful shutdown —
/// past it. A task group would wait for such a body before returning.
func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try Task.checkCancellation()
    let outcome = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task {
                do { outcome.settle(.success(try await body())) } catch { outcome.settle(.failure(error)) }
            }
            let timer = Task {
                guard (try? await Task.sleep(for: .seconds(seconds))) != nil else { return }
                outcome.settle(.failure(FleetTimeout(what: what, seconds: seconds)))
            }
            outcome.wait(continuation) {
                work.cancel()
                timer.cancel()
            }
        }
    } onCancel: {
        outcome.settle(.failure(CancellationError()))
    }
}

/// The first of several outcomes resumes the waiter (and cancels the rest); later ones are dropped.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: (continuation: CheckedContinuation<T, any Error>, onSettled: @Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<T, any Error>, onSettled: @escaping @Sendable () -> Void) {
        let settled = state.withLock { state -> Result<T, any Error>? in
            if state.result == nil { state.waiter = (continuation, onSettled) }
            return state.result
        }
        if let settled {
            onSettled()
            continuation.resume(with: settled)
        }
    }

    func settle(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> (continuation: CheckedContinuation<T, any Error>, onSettled: @Sendable () -> Void)? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        guard let waiter else { return }
        waiter.onSettled()
        waiter.continuation.resume(with: result)
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
