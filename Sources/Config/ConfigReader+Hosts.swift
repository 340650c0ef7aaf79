import Foundation
import Yams

/// `fleet_host:` — which machine of a fleet runs a miner or a service. One YAML may describe
/// several hosts; each host's supervisor runs its part (`miners supervise CONFIG --host NAME`):
/// the miners and services with that `fleet_host`, and those without one (they run everywhere).
/// `host:` stays what it always was, the address a miner or service listens on.
extension ConfigReader {
    static let fleetHostKey = "fleet_host"

    /// A host name as `fleet_host` and `--host` take it: 1 to 63 of `A-Z a-z 0-9 . _ -`.
    func fleetHost(_ node: Node?, miner: String? = nil) throws(ConfigError) -> String? {
        guard let node else { return nil }
        let name = try nonEmptyString(node, miner: miner, field: Self.fleetHostKey)
        guard MinersConfig.isHostName(name) else {
            throw error(node, miner: miner, field: Self.fleetHostKey, "'\(name.prefix(64))' must be 1 to 63 letters, digits, '.', '_' or '-'")
        }
        return name
    }

    /// Whether two entries can run on one machine: the same `fleet_host`, or either has none.
    /// Ports (and names of services) clash only then.
    static func sameMachine(_ a: String?, _ b: String?) -> Bool {
        a == nil || b == nil || a == b
    }
}

extension MinersConfig {
    public static func isHostName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    /// The `fleet_host`s the config names, sorted; empty for a single-host config.
    public var fleetHosts: [String] {
        Array(Set(miners.compactMap(\.fleetHost) + services.compactMap(\.fleetHost))).sorted()
    }

    /// This machine's host name (`gethostname`), the default `--host` of a config that names hosts.
    public static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(cString: buffer)
    }

    /// The host `miners supervise` runs without `--host`: nil (everything) when the config names
    /// no hosts, else this machine's host name.
    public var defaultHost: String? {
        fleetHosts.isEmpty ? nil : Self.machineHostName()
    }

    /// Host `host`'s part: its miners and services and those without a `fleet_host`. A host the
    /// config does not name is refused (a typo must not run only the shared part), as is a part
    /// with no miner or one whose miners or services depend on a service of another host.
    public func part(host: String) throws(ConfigError) -> MinersConfig {
        let hosts = fleetHosts
        guard Self.isHostName(host) else {
            throw ConfigError(file: file, field: "--host", message: "'\(host.prefix(64))' is not a host name (1 to 63 letters, digits, '.', '_' or '-')")
        }
        guard hosts.isEmpty || hosts.contains(host) else {
            let hint = Suggestion.closest(to: host, in: hosts).map { " (did you mean '\($0)'?)" } ?? ""
            throw ConfigError(
                file: file, field: "--host",
                message: "no miner or service has fleet_host '\(host)'\(hint); the config's hosts are: \(hosts.joined(separator: ", ")) (pass --host NAME)"
            )
        }
        var part = self
        part.miners = miners.filter { $0.fleetHost == nil || $0.fleetHost == host }
        part.services = services.filter { $0.fleetHost == nil || $0.fleetHost == host }
        part.selectedHost = host
        if part.fleet?.hostGiven == false { part.fleet?.host = host }
        guard !part.miners.isEmpty else {
            throw ConfigError(file: file, field: "--host", message: "no miner runs on host '\(host)'")
        }
        func elsewhere(_ name: String) -> String {
            service(named: name)?.fleetHost.map { "host '\($0)'" } ?? "another host"
        }
        for miner in part.miners {
            for name in miner.services where part.service(named: name) == nil {
                throw ConfigError(
                    file: file, miner: miner.name, field: "depends_on",
                    message: "service '\(name)' runs on \(elsewhere(name)), not on '\(host)': a supervisor runs only its own host's services (give the miner backend.base_url instead)"
                )
            }
        }
        for service in part.services {
            for name in service.dependsOn where part.service(named: name) == nil {
                throw ConfigError(file: file, service: service.name, field: "depends_on", message: "service '\(name)' runs on \(elsewhere(name)), not on '\(host)'")
            }
        }
        return part
    }

    /// Every host's part checked (`miners check` without `--host` on a config that names hosts).
    public func parts() throws(ConfigError) -> [(host: String, config: MinersConfig)] {
        var result: [(host: String, config: MinersConfig)] = []
        for host in fleetHosts { result.append((host, try part(host: host))) }
        return result
    }
}
