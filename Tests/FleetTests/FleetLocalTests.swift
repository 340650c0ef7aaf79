import Config
import Foundation
import GRDB
import LogStore
import Testing
@testable import Fleet

/// What needs no PostgreSQL server: the config, and retention's respect for the backlog.
@Suite struct FleetLocalTests {
    static let password = "s3cr3t-Pa55"

    func parse(_ fleet: String, env: String?) throws -> MinersConfig {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let envFile = directory.appendingPathComponent("fleet.env").path
        if let env {
            _ = FileManager.default.createFile(atPath: envFile, contents: Data(env.utf8), attributes: [.posixPermissions: 0o600])
        }
        let yaml = """
            database: \(directory.path)/miners.sqlite
            fleet: \(fleet.replacingOccurrences(of: "ENVFILE", with: envFile))
            miners:
              - {name: m1, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 18091, backend: {kind: mock}}
            """
        return try MinersConfig.parse(yaml: yaml, file: "fleet.yaml")
    }

    @Test func theURLComesFromTheEnvFile() throws {
        let config = try parse("{postgres_env: FLEET_PG, env_file: ENVFILE, host: gpu-1.example}",
                               env: "FLEET_PG=postgres://miners:\(Self.password)@db.example:6432/fleet?sslmode=require\n")
        let fleet = try #require(config.fleet)
        #expect(fleet.host == "gpu-1.example")
        #expect(fleet.postgres.host == "db.example")
        #expect(fleet.postgres.port == 6432)
        #expect(fleet.postgres.database == "fleet")
        #expect(fleet.postgres.sslMode == .require)
        #expect(fleet.postgres.password?.value == Self.password)
        #expect(config.retention.keepUnreplicated)
        // Nothing printed shows the password.
        #expect(!"\(fleet)".contains(Self.password))
        #expect(!String(reflecting: fleet).contains(Self.password))
        #expect(!"\(fleet.postgres)".contains(Self.password))
    }

    @Test func theHostDefaultsToTheMachinesName() throws {
        let config = try parse("{postgres_env: FLEET_PG, env_file: ENVFILE}", env: "FLEET_PG=postgres://u:p@h/d\n")
        let host = try #require(config.fleet?.host)
        #expect(FleetConfig.isHostName(host))
        #expect(config.fleet?.postgres.sslMode == .prefer)
    }

    @Test(arguments: [
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=mysql://u:PASSWORD@h/d", "FLEET_PG is not a PostgreSQL URL", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=postgres://u:PASSWORD@h:99999/d", "port", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=postgres://u:PASSWORD@h/d?sslmode=PASSWORD", "sslmode", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=postgres://u:PASSWORD@h/d?password=PASSWORD", "only sslmode", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=postgres://u:PASSWORD@h", "no database", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "OTHER=postgres://u:PASSWORD@h/d", "FLEET_PG is not set", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE}", "FLEET_PG=", "FLEET_PG is empty", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE, host: 'bad host'}", "FLEET_PG=postgres://u:PASSWORD@h/d", "fleet.host", 2),
        ("{postgres: 'postgres://u:PASSWORD@h/d'}", "", "never goes in the config", 2),
        ("{postgres_env: FLEET_PG, env_file: ENVFILE, hots: x}", "FLEET_PG=postgres://u:PASSWORD@h/d", "did you mean 'host'", 2),
    ])
    func configErrorsNameTheVariableNeverTheValue(fleet: String, env: String, expected: String, line: Int) throws {
        do {
            _ = try parse(fleet, env: env.replacingOccurrences(of: "PASSWORD", with: Self.password) + "\n")
            Issue.record("no error for \(fleet) with \(env)")
        } catch let error as ConfigError {
            #expect(error.description.contains(expected), "\(error)")
            #expect(!error.description.contains(Self.password), "\(error)")
            #expect(error.line == line, "\(error)")
        }
    }

    @Test func retentionKeepsRowsNotYetReplicated() async throws {
        let database = try TestLog.database()
        // Two hundred days ago: past every horizon.
        let old = Date().timeIntervalSince1970 - 200 * 86_400
        try TestLog.fill(database, requests: 100, at: old)
        try await database.write { db in
            try db.execute(sql: "INSERT INTO replication_progress (table_name, last_local_id, rows, updated_at) VALUES ('requests', 40, 40, 0), ('lifecycle', 4, 4, 0)")
        }
        var pass = RetentionPass(database: database, batches: 86_400, requests: 86_400, rollups: nil, pause: {})
        pass.keepUnreplicated = true
        _ = try await pass.run(now: Date().timeIntervalSince1970)
        func value(_ sql: String) async throws -> Int64? { try await database.read { try Int64.fetchOne($0, sql: sql) } }
        // Requests 41... and their batches and timeouts stay; 1...40 went.
        #expect(try await value("SELECT min(id) FROM requests") == 41)
        #expect(try await value("SELECT count(*) FROM requests") == 60)
        #expect(try await value("SELECT count(*) FROM batches") == 180)
        #expect(try await value("SELECT count(*) FROM batches WHERE request_id <= 40") == 0)
        #expect(try await value("SELECT count(*) FROM timeouts WHERE request_id <= 40") == 0)
        #expect(try await value("SELECT count(*) FROM timeouts") == 20)
        // Events: lifecycle beyond 4 stays; chain events (nothing replicated) all stay.
        #expect(try await value("SELECT min(id) FROM lifecycle") == 5)
        #expect(try await value("SELECT count(*) FROM chain_events") == 10)
        // Without fleet: everything old goes (as before).
        let plain = RetentionPass(database: database, batches: 86_400, requests: 86_400, rollups: nil, pause: {})
        _ = try await plain.run(now: Date().timeIntervalSince1970)
        #expect(try await database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM requests") } == 0)
    }
}
