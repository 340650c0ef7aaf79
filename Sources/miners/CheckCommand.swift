import ArgumentParser
import Config
import Supervisor

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a config as `miners supervise` would, without starting anything.",
        discussion: """
            Reports the first problem with file, line, miner and field: unknown keys (with a \
            suggestion), missing or malformed fields, duplicate names, ports or hotkeys, and \
            ports already taken on this machine. Exit status 0 when the config is ready.

            Fleet: with --host NAME, only that host's part (its miners and services by \
            fleet_host, and those without one) is checked, ports included. Without --host, a \
            config that names hosts is checked whole and host by host, its ports not probed \
            (they are other machines').
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    @Option(name: .long, help: "Check only this fleet host's part (fleet_host), and that its ports are free here.")
    var host: String?

    func run() throws {
        do {
            if host == nil {
                let whole = try MinersConfig.load(path: self.config)
                if !whole.fleetHosts.isEmpty {
                    let parts = try whole.parts()
                    print("\(self.config): ok, \(parts.count) hosts (ports not probed; pass --host NAME on each host)")
                    for part in parts { print("  \(part.host): " + Self.summary(part.config)) }
                    return
                }
            }
            let config = try ConfigCheck.run(path: self.config, host: host)
            print("\(self.config): ok\(host.map { " for host \($0)" } ?? ""), " + Self.summary(config))
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
    }

    static func summary(_ config: MinersConfig) -> String {
        let services = config.services.isEmpty ? "" : ", \(config.services.count) services (\(config.services.map { "\($0.name) on \($0.host):\($0.port)" }.joined(separator: ", ")))"
        // Webhooks by kind and variable, never by URL.
        let alerts = config.alerts.isEnabled ? ", alerts to \(config.alerts.webhooks.map(\.description).joined(separator: ", "))" : ""
        return "\(config.miners.count) miners (\(config.miners.map { "\($0.name) on \($0.host):\($0.port)" }.joined(separator: ", ")))\(services)\(alerts)"
    }
}
