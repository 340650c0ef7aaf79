import Logging
import PostgresNIO

/// Where the replicator's statements go: the client's pool while the supervisor runs, or one
/// connection of its own for the last round at shutdown (the pool closes itself when the
/// group's graceful shutdown starts).
public protocol FleetSession: Sendable {
    func execute(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence
    func onConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T
}

extension FleetSession {
    func inTransaction<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await onConnection { connection in try await connection.withTransaction(logger: logger) { try await body($0) } }
    }
}

extension PostgresClient: FleetSession {
    public func execute(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
    public func onConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { try await body($0) }
    }
}

extension PostgresConnection: FleetSession {
    public func execute(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
    public func onConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await body(self)
    }
}
