import Foundation
import Yams

/// `services:`, and what miners and services share: `env`, `env_file`, `max_rss`, `depends_on`.
extension ConfigReader {
    static let serviceKeys = [
        "name", "command", "cwd", "env", "env_file", "gpus", "host", "port", "health", "start_period", "interval", "timeout",
        "failures", "restart", "stop_signal", "grace_period", "max_rss", "log_file", "depends_on", fleetHostKey,
    ]
    /// What `defaults.service` may set: everything but a service's identity.
    static let serviceDefaultKeys = serviceKeys.filter { !["name", "command", "port", "log_file"].contains($0) }
    static let healthKeys = ["http", "model"]
    /// Variables of more than this many bytes are refused; the kernel's own limit per string is 128 KiB.
    static let maxVariableBytes = 32 << 10

    /// The same checks for a service: the error names it.
    func inService<T>(_ name: String, _ body: () throws(ConfigError) -> T) throws(ConfigError) -> T {
        do {
            return try body()
        } catch {
            var named = error
            named.service = name
            throw named
        }
    }

    func services(_ node: Node?, defaults: [String: Node], metricsPort: Int?) throws(ConfigError) -> [ServiceConfig] {
        guard let node else { return [] }
        guard let list = node.sequence else { throw error(node, field: "services", "expected a list of services") }
        var services: [ServiceConfig] = []
        var dependsOnNodes: [String: Node] = [:]
        for item in list {
            let service = try self.service(item, defaults: defaults)
            dependsOnNodes[service.name] = item.mapping?["depends_on"] ?? defaults["depends_on"]
            if services.contains(where: { $0.name == service.name }) {
                var problem = error(item.mapping?["name"] ?? item, field: "name", "the name '\(service.name)' is already used by another service")
                problem.service = service.name
                throw problem
            }
            if service.port == metricsPort {
                var problem = error(item.mapping?["port"] ?? item, field: "port", "port \(service.port) is the supervisor's metrics_port")
                problem.service = service.name
                throw problem
            }
            if let other = services.first(where: { $0.port == service.port && Self.hostsOverlap($0.host, service.host) && Self.sameMachine($0.fleetHost, service.fleetHost) }) {
                var problem = error(item, field: "port", "port \(service.port) on \(service.host) is already used by service '\(other.name)'")
                problem.service = service.name
                throw problem
            }
            services.append(service)
        }
        for service in services {
            for dependency in service.dependsOn where !services.contains(where: { $0.name == dependency }) {
                throw unknownService(dependency, node: dependsOnNodes[service.name] ?? node, field: "depends_on", services: services, owner: .service(service.name))
            }
        }
        if let cycle = Self.cycle(in: services) {
            throw error(node, field: "depends_on", "services depend on each other in a cycle: \(cycle.joined(separator: " → "))")
        }
        return services
    }

    enum Owner {
        case miner(String)
        case service(String)
    }

    func unknownService(_ name: String, node: Node?, field: String, services: [ServiceConfig], owner: Owner) -> ConfigError {
        let names = services.map(\.name)
        let hint = Suggestion.closest(to: name, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        let known = names.isEmpty ? "the config has no services: section" : "the services are: \(names.joined(separator: ", "))"
        var problem = error(node, field: field, "no service named '\(name)'\(hint); \(known)")
        switch owner {
        case .miner(let miner): problem.miner = miner
        case .service(let service): problem.service = service
        }
        return problem
    }

    /// The first cycle of `depends_on` among services, as a path that ends where it starts.
    static func cycle(in services: [ServiceConfig]) -> [String]? {
        let edges = Dictionary(services.map { ($0.name, $0.dependsOn) }, uniquingKeysWith: { first, _ in first })
        var done = Set<String>()
        func visit(_ name: String, path: [String]) -> [String]? {
            if let start = path.firstIndex(of: name) { return Array(path[start...]) + [name] }
            guard !done.contains(name) else { return nil }
            for next in edges[name] ?? [] {
                if let cycle = visit(next, path: path + [name]) { return cycle }
            }
            done.insert(name)
            return nil
        }
        for service in services {
            if let cycle = visit(service.name, path: []) { return cycle }
        }
        return nil
    }

    private func service(_ node: Node, defaults: [String: Node]) throws(ConfigError) -> ServiceConfig {
        guard let mapping = node.mapping else {
            throw error(node, field: "services", "each service must be a mapping with at least name, command and port")
        }
        guard let nameNode = mapping["name"] else { throw error(node, field: "name", "is required: a unique service name") }
        let name = try nonEmptyString(nameNode, field: "name")
        guard name.utf8.count <= 64, !name.hasPrefix("."),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
            throw error(nameNode, field: "name", "'\(name.prefix(64))' must be 1 to 64 letters, digits, '.', '_' or '-' (it names the log file and the control commands' target)")
        }
        if name == Self.reservedName {
            throw error(nameNode, field: "name", "'\(Self.reservedName)' is reserved: the supervisor's own log is LOG_DIR/supervisor.log (`miners logs supervisor`)")
        }
        return try inService(name) { () throws(ConfigError) -> ServiceConfig in
            var fields = defaults
            for (key, value) in try entries(node, known: Self.serviceKeys) {
                if let inherited = defaults[key], ["restart", "health", "env"].contains(key), let merged = merge(inherited, value, replaceOnDifferent: nil) {
                    fields[key] = merged
                } else {
                    fields[key] = value
                }
            }
            guard let commandNode = fields["command"] else {
                throw error(node, field: "command", "is required: the program and its arguments, e.g. [vllm, serve, MODEL, --port, '8000']")
            }
            guard let portNode = fields["port"] else { throw error(node, field: "port", "is required: the TCP port the server listens on") }
            var service = ServiceConfig(
                name: name, command: try command(commandNode), port: try integer(portNode, field: "port", in: 1...65535)
            )
            if let value = fields["cwd"] {
                let cwd = try nonEmptyString(value, field: "cwd")
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: cwd, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw error(value, field: "cwd", "\(cwd) is not a directory")
                }
                service.cwd = cwd
            }
            try checkExecutable(service.command[0], cwd: service.cwd, node: commandNode)
            service.environment = try environment(fields)
            service.fleetHost = try fleetHost(fields[Self.fleetHostKey])
            if let value = fields["gpus"] { service.gpus = try gpus(value) }
            if !service.gpus.isEmpty, service.environment.variables["CUDA_VISIBLE_DEVICES"] != nil {
                throw error(fields["env"], field: "env.CUDA_VISIBLE_DEVICES", "is set by gpus; give one or the other")
            }
            if let value = fields["host"] { service.host = try nonEmptyString(value, field: "host") }
            if let value = fields["health"] {
                let health = try entries(value, known: Self.healthKeys, field: "health")
                if let path = health["http"] {
                    let text = try nonEmptyString(path, field: "health.http")
                    guard text.hasPrefix("/"), text.utf8.count <= 1024, !text.contains(where: { $0.isWhitespace }) else {
                        throw error(path, field: "health.http", "expected a path on the server such as /health, got '\(text.prefix(64))'")
                    }
                    service.health.path = text
                }
                if let model = health["model"] { service.health.model = try nonEmptyString(model, field: "health.model") }
            }
            if let value = fields["start_period"] {
                service.health.startPeriod = try seconds(value, field: "start_period", allowZero: true, max: 7200)
            }
            if let value = fields["interval"] { service.health.interval = try seconds(value, field: "interval", max: 3600) }
            if let value = fields["timeout"] { service.health.timeout = try seconds(value, field: "timeout", max: 600) }
            if let value = fields["failures"] { service.health.failures = try integer(value, field: "failures", in: 1...1000) }
            if let value = fields["restart"] { service.restart = try restart(value, miner: nil) }
            if let value = fields["stop_signal"] {
                guard let text = value.scalar?.string, let signal = StopSignalName(text: text) else {
                    throw error(value, field: "stop_signal", "expected one of: \(StopSignalName.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value.string ?? "?")'")
                }
                service.stopSignal = signal
            }
            if let value = fields["grace_period"] {
                service.gracePeriod = try seconds(value, field: "grace_period", allowZero: true, max: SupervisorConfig.maxGracePeriod)
            }
            if let value = fields["max_rss"] { service.maxRSS = try byteSize(value, field: "max_rss") }
            if let value = fields["log_file"] { service.logFile = try nonEmptyString(value, field: "log_file") }
            if let value = fields["depends_on"] {
                service.dependsOn = try names(value, field: "depends_on")
                if service.dependsOn.contains(name) { throw error(value, field: "depends_on", "a service cannot depend on itself") }
            }
            return service
        }
    }

    /// A non-empty list of strings, the first the program.
    private func command(_ node: Node) throws(ConfigError) -> [String] {
        guard let list = node.sequence, !list.isEmpty else {
            throw error(node, field: "command", "expected a list: the program, then its arguments (no shell is involved), e.g. [python3, -m, llama_cpp.server]")
        }
        guard list.count <= 4096 else { throw error(node, field: "command", "more than 4096 arguments") }
        var arguments: [String] = []
        for item in list {
            guard item.scalar != nil, let text = item.string, !text.utf8.contains(0), text.utf8.count <= Self.maxVariableBytes else {
                throw error(item, field: "command", "each argument must be a string without NUL bytes, at most \(Self.maxVariableBytes) bytes")
            }
            arguments.append(text)
        }
        guard !arguments[0].isEmpty else { throw error(node, field: "command", "the program's name is empty") }
        return arguments
    }

    /// The program exists and may be run: a path (relative to `cwd`), or a name found in PATH.
    private func checkExecutable(_ program: String, cwd: String?, node: Node) throws(ConfigError) {
        if program.contains("/") {
            let path = program.hasPrefix("/") || cwd == nil ? program : "\(cwd!)/\(program)"
            guard access(path, X_OK) == 0 else {
                throw error(node, field: "command", "cannot run \(path): \(String(cString: strerror(errno)))")
            }
            return
        }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        guard directories.contains(where: { access("\($0)/\(program)", X_OK) == 0 }) else {
            throw error(node, field: "command", "'\(program)' is not found in PATH; give its path")
        }
    }

    /// `env` and `env_file`; the file is checked now (permissions, syntax) and read again at each start.
    func environment(_ fields: [String: Node], miner: String? = nil) throws(ConfigError) -> ProcessEnvironment {
        var environment = ProcessEnvironment()
        if let value = fields["env"] {
            guard let mapping = value.mapping else {
                throw error(value, miner: miner, field: "env", "expected a mapping of variable names to values, e.g. {HF_HOME: /data/hf}")
            }
            for (key, item) in mapping {
                let name = try nonEmptyString(key, miner: miner, field: "env")
                guard EnvironmentFile.isName(name) else {
                    throw error(key, miner: miner, field: "env", "'\(name.prefix(64))' is not a variable name (letters, digits, _; not first a digit)")
                }
                guard item.scalar != nil, let text = item.string, !text.utf8.contains(0), text.utf8.count <= Self.maxVariableBytes else {
                    throw error(item, miner: miner, field: "env.\(name)", "expected a string without NUL bytes, at most \(Self.maxVariableBytes) bytes")
                }
                environment.variables[name] = text
            }
        }
        if let value = fields["env_file"] {
            let path = try nonEmptyString(value, miner: miner, field: "env_file")
            do {
                _ = try EnvironmentFile.read(path)
            } catch {
                throw self.error(value, miner: miner, field: "env_file", error.description)
            }
            environment.file = path
        }
        return environment
    }

    /// A list of GPU indices, or one index.
    private func gpus(_ node: Node) throws(ConfigError) -> [Int] {
        let items = node.sequence.map(Array.init) ?? [node]
        guard !items.isEmpty, items.count <= 64 else { throw error(node, field: "gpus", "expected a GPU index or a list of 1 to 64 of them, e.g. [0, 1]") }
        var gpus: [Int] = []
        for item in items {
            let index = try integer(item, field: "gpus", in: 0...1023)
            if !gpus.contains(index) { gpus.append(index) }
        }
        return gpus
    }

    /// Service names: a list, or one name.
    func names(_ node: Node, miner: String? = nil, field: String) throws(ConfigError) -> [String] {
        let items = node.sequence.map(Array.init) ?? [node]
        var names: [String] = []
        for item in items {
            let name = try nonEmptyString(item, miner: miner, field: field)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Bytes: an integer, or a number with a unit: K, M, G, T (powers of 1024; `KB`, `KiB` alike).
    /// The name no miner or service may take: `supervisor.log` is the supervisor's own.
    static let reservedName = "supervisor"

    func byteSize(_ node: Node, miner: String? = nil, field: String, max: Int = 1 << 44) throws(ConfigError) -> Int {
        let range = (1 << 20)...max
        let top = max == 1 << 44 ? "16T" : max == 1 << 40 ? "1T" : "\(max) bytes"
        let problem = error(node, miner: miner, field: field, "expected a size from 1M to \(top), such as 512M, 2G or 1.5G, got '\(node.string ?? "?")'")
        guard node.scalar != nil, let text = node.string?.trimmingCharacters(in: .whitespaces), text.utf8.count <= 32 else { throw problem }
        let digits = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).uppercased()
        let multipliers: [String: Double] = ["": 1, "B": 1, "K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        let key = unit.hasSuffix("IB") ? String(unit.dropLast(2)) : unit.hasSuffix("B") && unit.count == 2 ? String(unit.dropLast()) : unit
        guard let number = Double(digits), number.isFinite, let multiplier = multipliers[key] else { throw problem }
        let bytes = number * multiplier
        guard bytes >= Double(range.lowerBound), bytes <= Double(range.upperBound) else { throw problem }
        return Int(bytes)
    }
}
