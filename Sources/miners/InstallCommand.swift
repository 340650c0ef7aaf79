import ArgumentParser
import Config
import Foundation
import Supervisor

struct InstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install the supervisor as a service that starts on boot.",
        subcommands: [InstallSystemdCommand.self]
    )
}

struct InstallSystemdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Write a systemd unit that runs `miners supervise CONFIG` (it never runs systemctl).",
        discussion: """
            The unit runs this binary (by its absolute path) on the config's absolute path, in \
            the current directory (relative paths of the config resolve against it), as \
            Type=notify: systemd counts it started once every miner's worker runs. KillMode=mixed: \
            a stop sends SIGTERM to the supervisor alone, which stops its workers and services in \
            order; SIGKILL goes to every process left after TimeoutStopSec (supervisor \
            grace_period + the largest service grace_period + 30 s). TimeoutStartSec=900 leaves \
            model servers time to load. Restart=on-failure, LimitNOFILE=65536. `systemctl reload` \
            sends SIGHUP (a config reload).

            The config is read and checked, not its ports, so a unit can be written while a \
            supervisor runs. Default output: /etc/systemd/system/NAME.service, or \
            ~/.config/systemd/user/NAME.service with --user. Then run the systemctl commands it prints.
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    @Flag(name: .long, help: "A user unit (systemctl --user, WantedBy=default.target) rather than a system one.")
    var user = false

    @Option(name: .long, help: "Where to write the unit (default: /etc/systemd/system/NAME.service, ~/.config/systemd/user/NAME.service with --user).")
    var output: String?

    @Option(name: .long, help: "The unit's name, without .service.")
    var name = "miners"

    @Flag(name: .long, help: "Write the unit to standard output instead of a file.")
    var print = false

    @Option(name: .long, help: "An Environment= line for the supervisor, KEY=VALUE (repeatable).")
    var env: [String] = []

    @Option(name: .long, help: "The fleet host whose part the unit runs (`supervise --host NAME`), for a config whose miners name their fleet_host.")
    var host: String?

    func run() async throws {
        let directory = FileManager.default.currentDirectoryPath
        let configPath = Self.absolute(self.config, in: directory)
        let config: MinersConfig
        do {
            config = try host.map { host throws(ConfigError) in try MinersConfig.load(path: configPath).part(host: host) }
                ?? MinersConfig.load(path: configPath)
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
        let text: String
        do {
            try SystemdUnit.checkName(name)
            var environment: [(key: String, value: String)] = []
            for assignment in env {
                guard let equals = assignment.firstIndex(of: "=") else {
                    throw SystemdUnit.Problem(description: "--env \(assignment): expected KEY=VALUE")
                }
                environment.append((String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...])))
            }
            let unit = SystemdUnit(
                config: config, executable: Self.absolute(SuperviseCommand.executablePath(), in: directory),
                configPath: configPath, workingDirectory: directory, user: user, environment: environment, host: host
            )
            text = try unit.text()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if print {
            Swift.print(text, terminator: "")
            return
        }
        let path = Self.absolute(output ?? SystemdUnit.defaultPath(name: name, user: user), in: directory)
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
            )
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            _ = chmod(path, 0o644)
        } catch {
            printError("error: cannot write \(path): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let systemctl = user ? "systemctl --user" : "systemctl"
        let unitName = (path as NSString).lastPathComponent
        var next = ["wrote \(path)", "next:"]
        if output != nil, !(path.hasPrefix("/etc/systemd/") || path.contains("/.config/systemd/user/")) {
            next.append("  \(systemctl) link \(path)   # or copy it to \(SystemdUnit.defaultPath(name: name, user: user))")
        }
        next.append("  \(systemctl) daemon-reload && \(systemctl) enable --now \(unitName)")
        next.append("  \(systemctl) status \(unitName); journalctl \(user ? "--user " : "")-u \(unitName) -f")
        if user { next.append("  loginctl enable-linger \(NSUserName())   # to start at boot, before any login") }
        Swift.print(next.joined(separator: "\n"))
    }

    static func absolute(_ path: String, in directory: String) -> String {
        let full = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }
}
