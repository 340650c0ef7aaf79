import Foundation
import Yams

/// A config file: the database every worker logs to and the miners to run.
public struct MinersConfig: Sendable, Equatable {
    /// The file it was read from, for messages.
    public var file: String
    /// SQLite file; a relative path is relative to the working directory.
    public var database: String
    public var miners: [MinerConfig]
    /// Model servers run beside the miners, started before them.
    public var services: [ServiceConfig] = []
    public var supervisor: SupervisorConfig
    /// How long the log database keeps raw rows and their hourly rollups.
    public var retention = RetentionConfig()
    /// Webhooks told of crash loops, deregistrations, full disks and the like.
    public var alerts = AlertsConfig()
    /// Replication of the log to the fleet's PostgreSQL (`fleet:`); nil: none.
    public var fleet: FleetConfig?
    /// The fleet host whose part this is (`part(host:)`); nil: the whole file.
    public var selectedHost: String?

    public static let defaultDatabase = "miners.sqlite"

    public init(
        file: String, database: String = MinersConfig.defaultDatabase, miners: [MinerConfig],
        supervisor: SupervisorConfig = SupervisorConfig()
    ) {
        self.file = file
        self.database = database
        self.miners = miners
        self.supervisor = supervisor
    }

    /// The supervisor's control socket: next to the database.
    public var controlSocket: String { database + ".control.sock" }

    /// Where each worker's output goes, one `NAME.log` per miner.
    public var logDirectory: String {
        supervisor.logDirectory ?? ((database as NSString).deletingLastPathComponent.isEmpty
            ? "logs" : (database as NSString).deletingLastPathComponent + "/logs")
    }

    public static func load(path: String) throws(ConfigError) -> MinersConfig {
        try parse(yaml: try YAMLFile.read(path, what: "config file"), file: path)
    }

    public func service(named name: String) -> ServiceConfig? {
        services.first { $0.name == name }
    }

    /// The miners that need a service, in the config's order.
    public func dependents(of service: String) -> [String] {
        miners.filter { $0.services.contains(service) }.map(\.name)
    }

    public static func parse(yaml: String, file: String) throws(ConfigError) -> MinersConfig {
        try ConfigReader(file: file).config(try YAMLFile.root(yaml, file: file, expected: "'database' and 'miners'"))
    }

    /// The `database` of a config file even when the rest of it is invalid, so control commands
    /// can reach the supervisor (e.g. to hear why a reload is rejected).
    public static func databasePath(of path: String) throws(ConfigError) -> String {
        do {
            return try load(path: path).database
        } catch {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let top = (try? Yams.compose(yaml: text))??.mapping else { throw error }
            return top["database"]?.string ?? defaultDatabase
        }
    }

    public func miner(named name: String) throws(ConfigError) -> MinerConfig {
        guard let miner = miners.first(where: { $0.name == name }) else {
            throw ConfigError(
                file: file,
                message: "no miner named '\(name)'; the miners are: \(miners.map(\.name).joined(separator: ", "))"
            )
        }
        return miner
    }
}

extension YamlError {
    var line: Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    var problem: String {
        switch self {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        case .reader(let problem, _, _, _): problem
        default: String(describing: self)
        }
    }
}

/// Settings of `miners supervise`.
public struct SupervisorConfig: Sendable, Equatable {
    /// Seconds a stopping worker may spend finishing its in-flight streams.
    public var gracePeriod: Double = 20
    /// The longest `grace_period` a config may set.
    public static let maxGracePeriod = 3600.0
    /// Per-miner log files; default `logs/` next to the database.
    public var logDirectory: String?
    /// Prometheus metrics on `metricsHost:metricsPort/metrics`; off when no port is given.
    public var metricsPort: Int?
    /// Loopback by default: the metrics name hotkeys and validators.
    public var metricsHost = "127.0.0.1"
    /// A log file (a worker's, a service's, `supervisor.log`) is rotated before a write would
    /// take it past this size: `NAME.log` becomes `NAME.log.1.gz`.
    public var logMaxBytes = SupervisorConfig.defaultLogMaxBytes
    /// Compressed backups kept per log file (`NAME.log.1.gz` … `NAME.log.N.gz`); 0 keeps none.
    public var logBackups = SupervisorConfig.defaultLogBackups
    public static let defaultLogMaxBytes = 100 << 20
    public static let defaultLogBackups = 5
    /// The largest `log_max_bytes`: 1T.
    public static let maxLogMaxBytes = 1 << 40
    /// The most `log_backups`.
    public static let maxLogBackups = 100

    public init(gracePeriod: Double = 20, logDirectory: String? = nil, metricsPort: Int? = nil) {
        self.gracePeriod = gracePeriod
        self.logDirectory = logDirectory
        self.metricsPort = metricsPort
    }
}
