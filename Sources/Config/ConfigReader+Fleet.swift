import Foundation
import Yams

/// `fleet:` — where this host's log is replicated. The PostgreSQL URL comes only from the
/// variable `postgres_env` names (the `env_file` first, then the supervisor's environment);
/// errors name the variable and the line, never the value.
extension ConfigReader {
    static let fleetKeys = ["postgres_env", "env_file", "host"]
    /// A URL longer than this is refused.
    static let maxPostgresURLBytes = 2048

    func fleet(
        _ node: Node?, environment: [String: String] = ProcessInfo.processInfo.environment,
        hostName: () -> String? = ConfigReader.machineHostName
    ) throws(ConfigError) -> FleetConfig? {
        guard let node else { return nil }
        if let url = node.mapping?["postgres"] ?? node.mapping?["url"] {
            throw error(url, field: "fleet.postgres", "the PostgreSQL URL holds a password and never goes in the config: put it in an environment variable (or the env_file) and name that with postgres_env")
        }
        let fields = try entries(node, known: Self.fleetKeys, field: "fleet")
        var variables = environment
        var file: String?
        if let value = fields["env_file"] {
            let path = try nonEmptyString(value, field: "fleet.env_file")
            do {
                // The file's values win over the supervisor's environment.
                variables.merge(try EnvironmentFile.read(path)) { _, file in file }
            } catch {
                throw self.error(value, field: "fleet.env_file", error.description)
            }
            file = path
        }
        guard let nameNode = fields["postgres_env"] else {
            throw error(node, field: "fleet.postgres_env", "is required: the name of the environment variable that holds the PostgreSQL URL (postgres://user:password@host:port/database?sslmode=require)")
        }
        let name = try nonEmptyString(nameNode, field: "fleet.postgres_env")
        guard EnvironmentFile.isName(name) else {
            throw error(nameNode, field: "fleet.postgres_env", "'\(name.prefix(64))' is not a variable name (letters, digits, _; not first a digit)")
        }
        let whereFrom = file.map { "neither in \($0) nor in the supervisor's environment" } ?? "in the supervisor's environment (or give fleet.env_file)"
        guard let value = variables[name] else { throw error(nameNode, field: "fleet.postgres_env", "\(name) is not set \(whereFrom)") }
        guard !value.isEmpty else { throw error(nameNode, field: "fleet.postgres_env", "\(name) is empty") }
        guard value.utf8.count <= Self.maxPostgresURLBytes, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw error(nameNode, field: "fleet.postgres_env", "the value of \(name) is longer than \(Self.maxPostgresURLBytes) bytes or holds spaces, control or non-ASCII characters")
        }
        let postgres: PostgresURL
        do {
            postgres = try PostgresURL.parse(value)
        } catch {
            throw self.error(nameNode, field: "fleet.postgres_env", "the value of \(name) is not a PostgreSQL URL: it \(error)")
        }
        var host: String
        if let hostNode = fields["host"] {
            host = try nonEmptyString(hostNode, field: "fleet.host")
            guard FleetConfig.isHostName(host) else {
                throw error(hostNode, field: "fleet.host", "'\(host.prefix(64))' is not a host name of 1 to 63 letters, digits, '.', '_' or '-'")
            }
        } else {
            guard let name = hostName(), FleetConfig.isHostName(name) else {
                throw error(node, field: "fleet.host", "this machine's host name is not 1 to 63 letters, digits, '.', '_' or '-': give fleet.host")
            }
            host = name
        }
        var fleet = FleetConfig(variable: name, url: Secret(value), postgres: postgres, environmentFile: file, host: host)
        fleet.hostGiven = fields["host"] != nil
        return fleet
    }

    /// gethostname(2).
    static func machineHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(cString: buffer)
    }
}
