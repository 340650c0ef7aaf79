import Config
import Foundation

/// The systemd unit `miners install systemd` writes: `miners supervise CONFIG` as a
/// `Type=notify` service (the supervisor sends `READY=1` once every worker runs, see
/// `SystemdNotify`), stopped by SIGTERM to the supervisor alone (`KillMode=mixed`: it stops
/// its workers and services in order) with SIGKILL to whatever is left after `TimeoutStopSec`.
public struct SystemdUnit: Sendable, Equatable {
    /// Absolute path of the `miners` binary.
    public var executable: String
    /// Absolute path of the config file.
    public var configPath: String
    /// Absolute; relative paths of the config (database, log_dir) resolve against it.
    public var workingDirectory: String
    public var supervisorGracePeriod: Double
    /// Each service's `grace_period`.
    public var serviceGracePeriods: [Double]
    /// A user unit (`systemctl --user`): `WantedBy=default.target`.
    public var user: Bool
    /// `Environment=` lines, in order.
    public var environment: [(key: String, value: String)]
    /// The fleet host whose part it runs (`supervise --host NAME`); nil: none given.
    public var host: String?

    /// `TimeoutStartSec`: generous, for the metagraph snapshots fetched from the chain before the
    /// miners start and `READY=1` is sent.
    public static let startTimeout = 900
    /// Slack on top of the grace periods in `TimeoutStopSec`.
    public static let stopSlack = 30.0

    public init(
        config: MinersConfig, executable: String, configPath: String, workingDirectory: String, user: Bool = false,
        environment: [(key: String, value: String)] = [], host: String? = nil
    ) {
        self.host = host
        self.executable = executable
        self.configPath = configPath
        self.workingDirectory = workingDirectory
        self.supervisorGracePeriod = config.supervisor.gracePeriod
        self.serviceGracePeriods = config.services.map(\.gracePeriod)
        self.user = user
        self.environment = environment
    }

    public static func == (a: SystemdUnit, b: SystemdUnit) -> Bool {
        a.executable == b.executable && a.configPath == b.configPath && a.workingDirectory == b.workingDirectory
            && a.supervisorGracePeriod == b.supervisorGracePeriod && a.serviceGracePeriods == b.serviceGracePeriods
            && a.user == b.user && a.host == b.host && a.environment.map(\.key) == b.environment.map(\.key)
            && a.environment.map(\.value) == b.environment.map(\.value)
    }

    /// Seconds: the workers' grace period, then the slowest service's, plus slack; whole seconds, rounded up.
    public var stopTimeout: Int {
        Int((supervisorGracePeriod + (serviceGracePeriods.max() ?? 0) + Self.stopSlack).rounded(.up))
    }

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The unit file's text.
    public func text() throws(Problem) -> String {
        for (what, path) in [("the miners binary", executable), ("the config file", configPath), ("the working directory", workingDirectory)] {
            guard path.hasPrefix("/") else { throw Problem(description: "\(what) \(path) is not an absolute path") }
        }
        let exec = try ([executable, "supervise", configPath] + (host.map { ["--host", $0] } ?? [])).map { word throws(Problem) in try Self.execWord(word) }
        let environmentLines = try environment.map { entry throws(Problem) in
            try "Environment=" + Self.environmentAssignment(key: entry.key, value: entry.value)
        }
        var lines = [
            "# Written by `miners install systemd`; see the README's \"Deployment\".",
            "[Unit]",
            "Description=" + (try Self.plain("Bittensor miners supervisor (\(configPath))", what: "description")),
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            "ExecStart=" + exec.joined(separator: " "),
            "ExecReload=/bin/kill -HUP $MAINPID",
            "WorkingDirectory=" + (try Self.directory(workingDirectory)),
            "# SIGTERM to the supervisor alone: it stops its workers and services in order; SIGKILL to",
            "# every process left after TimeoutStopSec (supervisor grace_period + the largest service",
            "# grace_period + \(Int(Self.stopSlack)) s).",
            "KillMode=mixed",
            "TimeoutStopSec=\(stopTimeout)",
            "# READY=1 comes once every miner's worker runs (answering 503 while its model server loads).",
            "TimeoutStartSec=\(Self.startTimeout)",
            "Restart=on-failure",
            "RestartSec=5",
            "LimitNOFILE=65536",
        ]
        lines += environmentLines
        lines += ["", "[Install]", "WantedBy=" + (user ? "default.target" : "multi-user.target"), ""]
        return lines.joined(separator: "\n")
    }

    /// The default place of unit `name`: `/etc/systemd/system/` or, for a user unit,
    /// `~/.config/systemd/user/` (`$XDG_CONFIG_HOME/systemd/user/`).
    public static func defaultPath(name: String, user: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        guard user else { return "/etc/systemd/system/\(name).service" }
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        return "\(configHome)/systemd/user/\(name).service"
    }

    /// A unit name systemd accepts (without `.service`).
    public static func checkName(_ name: String) throws(Problem) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\")
        guard !name.isEmpty, name.count <= 200, name.allSatisfy(allowed.contains) else {
            throw Problem(description: "unit name '\(name)': use letters, digits and : - _ . only")
        }
    }

    // MARK: - systemd.syntax

    /// A word of `ExecStart=`: as is when it holds nothing special, else double-quoted (so a
    /// space stays inside the word) with C escapes `\\` and `\"`, `$` doubled (no variable
    /// expansion) and `%` doubled (no specifier expansion). Line breaks and other control
    /// characters are refused.
    public static func execWord(_ word: String) throws(Problem) -> String {
        try refuseControl(word, what: "path")
        let special = Set(" \t\"'\\$%;")
        guard !word.isEmpty, word.contains(where: special.contains) else { return word }
        return "\"" + escaped(word, dollars: true) + "\""
    }

    /// `\`, `"` and `%` escaped inside a double-quoted value; `$` too where the line expands
    /// variables (`ExecStart=`).
    static func escaped(_ text: String, dollars: Bool) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "$" where dollars: result += "$$"
            case "%": result += "%%"
            default: result.append(character)
            }
        }
        return result
    }

    /// `KEY=VALUE` for `Environment=`, always double-quoted (C escapes, `%` doubled).
    public static func environmentAssignment(key: String, value: String) throws(Problem) -> String {
        guard let first = key.first, first == "_" || first.isLetter,
              key.allSatisfy({ $0 == "_" || (($0.isLetter || $0.isNumber) && $0.isASCII) }) else {
            throw Problem(description: "environment variable name '\(key)' is not a valid name")
        }
        try refuseControl(value, what: "environment value")
        return "\"\(key)=" + escaped(value, dollars: false) + "\""
    }

    /// `WorkingDirectory=` takes its value as is (no quotes, no C escapes), only `%` specifiers:
    /// spaces inside are kept, but trailing white space would be stripped and a trailing `\`
    /// would continue the line.
    static func directory(_ path: String) throws(Problem) -> String {
        try refuseControl(path, what: "working directory")
        if let last = path.last, last == " " || last == "\\" {
            throw Problem(description: "working directory '\(path)' ends in '\(last)', which a unit file cannot hold; run from another directory")
        }
        return path.replacingOccurrences(of: "%", with: "%%")
    }

    static func plain(_ text: String, what: String) throws(Problem) -> String {
        try refuseControl(text, what: what)
        return text.replacingOccurrences(of: "%", with: "%%")
    }

    static func refuseControl(_ text: String, what: String) throws(Problem) {
        if text.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw Problem(description: "the \(what) \(text.debugDescription) holds a line break, which a unit file cannot hold")
        }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw Problem(description: "the \(what) \(text.debugDescription) holds a control character, which a unit file cannot hold")
        }
    }
}
