import ArgumentParser
import Supervisor

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a config as `miners supervise` would, without starting anything.",
        discussion: """
            Reports the first problem with file, line, miner and field: unknown keys (with a \
            suggestion), missing or malformed fields, duplicate names, ports or hotkeys, and \
            ports already taken on this machine. Exit status 0 when the config is ready.
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    func run() throws {
        do {
            let config = try ConfigCheck.run(path: self.config)
            let services = config.services.isEmpty ? "" : ", \(config.services.count) services (\(config.services.map { "\($0.name) on \($0.host):\($0.port)" }.joined(separator: ", ")))"
            // Webhooks by kind and variable, never by URL.
            let alerts = config.alerts.isEnabled ? ", alerts to \(config.alerts.webhooks.map(\.description).joined(separator: ", "))" : ""
            print("\(self.config): ok, \(config.miners.count) miners (\(config.miners.map { "\($0.name) on \($0.host):\($0.port)" }.joined(separator: ", ")))\(services)\(alerts)")
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
    }
}
