import Foundation

/// A model server (or any helper process) the supervisor runs beside the miners: started
/// first, health-checked over HTTP, restarted by the same policy as a worker, and named by the
/// miners that need it (`backend.service`, `depends_on`).
public struct ServiceConfig: Sendable, Equatable {
    public var name: String
    /// The fleet host that runs it (`fleet_host`); nil: every host's supervisor runs it.
    public var fleetHost: String?
    /// The program and its arguments, run as given: no shell, no expansion.
    public var command: [String]
    /// Working directory; nil: the supervisor's.
    public var cwd: String?
    public var environment = ProcessEnvironment()
    /// GPU indices: `CUDA_VISIBLE_DEVICES`. Services that share one start one after another.
    public var gpus: [Int] = []
    /// Where the server listens: the health check and the miners' `base_url` use it.
    public var host = "127.0.0.1"
    public var port: Int
    public var health = HealthCheckConfig()
    public var restart = RestartPolicyConfig()
    /// Sent to the server to stop it; SIGKILL after `gracePeriod`.
    public var stopSignal = StopSignalName.term
    public var gracePeriod: Double = 30
    /// Resident memory of the process and its children above which it is restarted gracefully.
    public var maxRSS: Int?
    /// Its output; nil: `LOG_DIR/NAME.log`.
    public var logFile: String?
    /// Services that must be healthy before this one starts.
    public var dependsOn: [String] = []

    public init(name: String, command: [String], port: Int) {
        self.name = name
        self.command = command
        self.port = port
    }

    /// `http://host:port`, with brackets around an IPv6 address; a server listening on every
    /// address is reached on loopback.
    public var rootURL: String {
        let address = switch host {
        case "0.0.0.0", "*", "": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host
        }
        return address.contains(":") && !address.hasPrefix("[") ? "http://[\(address)]:\(port)" : "http://\(address):\(port)"
    }

    /// Whether the two run on a GPU in common.
    public func sharesGPU(with other: ServiceConfig) -> Bool {
        !Set(gpus).isDisjoint(with: other.gpus)
    }
}

/// How a service shows it is ready: a GET that answers 2xx, and for an OpenAI-compatible server
/// the model that `GET /v1/models` must list.
public struct HealthCheckConfig: Sendable, Equatable {
    /// The path to GET (`/health`; `/v1/models` for servers without one, as llama-cpp-python).
    public var path = "/health"
    /// A model id `GET /v1/models` must list: a server that loaded another model is not ready.
    public var model: String?
    /// Seconds after start in which failed checks do not count (loading a model takes minutes).
    public var startPeriod: Double = 300
    /// Seconds between checks.
    public var interval: Double = 5
    /// Seconds one check may take.
    public var timeout: Double = 3
    /// Failed checks in a row, past the start period, after which the service is restarted.
    public var failures = 3

    public static let modelsPath = "/v1/models"

    public init() {}
}

/// The variables a child process gets on top of the supervisor's: `env_file` first, `env` over it.
public struct ProcessEnvironment: Sendable, Equatable {
    public var variables: [String: String] = [:]
    /// Read again at every start, so a rotated key is picked up by a restart.
    public var file: String?

    public init(variables: [String: String] = [:], file: String? = nil) {
        self.variables = variables
        self.file = file
    }

    public var isEmpty: Bool { variables.isEmpty && file == nil }

    /// The variables to set: the file's (read now), then `env`'s.
    public func resolved() throws(EnvironmentFile.Problem) -> [String: String] {
        var result = try file.map { path throws(EnvironmentFile.Problem) in try EnvironmentFile.read(path) } ?? [:]
        result.merge(variables) { _, own in own }
        return result
    }
}

/// The signals a service may be stopped with.
public enum StopSignalName: String, Sendable, Equatable, CaseIterable {
    case term = "SIGTERM", int = "SIGINT", quit = "SIGQUIT", hup = "SIGHUP", usr1 = "SIGUSR1", usr2 = "SIGUSR2"

    public var number: Int32 {
        switch self {
        case .term: SIGTERM
        case .int: SIGINT
        case .quit: SIGQUIT
        case .hup: SIGHUP
        case .usr1: SIGUSR1
        case .usr2: SIGUSR2
        }
    }

    /// `SIGTERM`, `TERM` or `term`.
    public init?(text: String) {
        let upper = text.uppercased()
        self.init(rawValue: upper.hasPrefix("SIG") ? upper : "SIG" + upper)
    }
}
