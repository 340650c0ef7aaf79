import Config

/// Everything checked before a worker starts: the config itself (names, ports, hotkeys,
/// keys — see `Config`) and that each miner's and service's port is free. `miners check` runs only this.
public enum ConfigCheck {
    /// Loads and checks `path`. Ports in `ownPorts` (held by this supervisor's running workers)
    /// count as free. With `host`, only that fleet host's part is checked and returned.
    public static func run(path: String, ownPorts: Set<String> = [], host: String? = nil) throws(ConfigError) -> MinersConfig {
        var config = try MinersConfig.load(path: path)
        if let host { config = try config.part(host: host) }
        for service in config.services where !ownPorts.contains(key(host: service.host, port: service.port)) {
            if let problem = PortCheck.problem(host: service.host, port: service.port) {
                throw ConfigError(file: path, service: service.name, field: "port", message: problem)
            }
        }
        for miner in config.miners where !ownPorts.contains(key(host: miner.host, port: miner.port)) {
            if let problem = PortCheck.problem(host: miner.host, port: miner.port) {
                throw ConfigError(file: path, miner: miner.name, field: "port", message: problem)
            }
        }
        if let port = config.supervisor.metricsPort, !ownPorts.contains("\(config.supervisor.metricsHost):\(port)"),
           let problem = PortCheck.problem(host: config.supervisor.metricsHost, port: port) {
            throw ConfigError(file: path, field: "supervisor.metrics_port", message: problem)
        }
        return config
    }

    static func key(host: String, port: Int) -> String { "\(host):\(port)" }
}
