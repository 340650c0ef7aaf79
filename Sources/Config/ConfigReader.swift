import Foundation
import Keys
import Yams

/// Walks the YAML tree, turning every surprise into a `ConfigError` with its line.
struct ConfigReader {
    let file: String

    static let topKeys = ["database", "supervisor", "retention", "alerts", "fleet", "defaults", "services", "miners"]
    static let minerKeys = [
        "name", "hotkey", "wallet", "host", "port", "synapses", "streaming_batch_size", "max_batch_chars", "max_batch_tokens", "timeout",
        "stop_on_forward_exception", "max_body_bytes", "backend", "restart", "blacklist",
        "max_concurrent_streams", "max_queued_requests", "max_nonce_skew",
        "max_connections", "max_connections_per_ip", "max_header_bytes", "header_timeout", "body_timeout", "idle_timeout",
        "max_requests_per_minute", "max_request_timeout",
        "chain", "external_ip", "external_port", "env", "env_file", "max_rss", "depends_on", fleetHostKey,
    ]
    /// What `defaults:` may set: everything that is not a miner's identity.
    /// `service` holds what every service inherits.
    static let defaultKeys = minerKeys.filter { !["name", "hotkey", "wallet", "port", "external_ip", "external_port"].contains($0) } + ["service"]
    static let chainKeys = ["network", "netuid", "refresh", "ca_file"]
    static let blacklistKeys = ["allow", "deny", "metagraph", "min_stake", "require_validator_permit", "allow_non_registered"]
    static let walletKeys = ["path", "name", "hotkey"]
    static let restartKeys = ["backoff_initial", "backoff_max", "min_uptime", "max_restarts", "window", "crash_loop_cooldown"]
    static let supervisorKeys = ["grace_period", "log_dir", "metrics_port", "metrics_host", "log_max_bytes", "log_backups"]
    static let mockKeys = ["kind", "text", "delay_ms", "fail_after"]
    static let httpKeys = [
        "kind", "base_url", "extra_headers", "connect_timeout", "idle_timeout", "system_prompt",
        "max_connections", "warmup", "keep_alive", "metrics_url", "service",
    ]
    static let openAIKeys = httpKeys + ["model", "api_key_env", "temperature", "top_p", "max_tokens", "reasoning", "extra_body"]
    static let tgiKeys = httpKeys + [
        "api", "max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed", "stop", "message_template", "assistant_prefix",
    ]
    /// Fields the backend itself writes: an `extra_body` that set them would break the stream.
    static let reservedBodyKeys = ["stream", "messages", "stream_options", "n", "model"]
    static let backendKinds = ["mock", "openai", "tgi"]

    /// Two listening addresses that cannot both bind one port: the same, or either a wildcard
    /// (`0.0.0.0` takes the port on every IPv4 address, `::` on every address).
    static func hostsOverlap(_ a: String, _ b: String) -> Bool {
        let wildcards: Set<String> = ["0.0.0.0", "::", "[::]", "*", ""]
        let names: Set<String> = ["localhost", "127.0.0.1"]
        return a == b || wildcards.contains(a) || wildcards.contains(b) || (names.contains(a) && names.contains(b))
    }

    func error(_ node: Node?, miner: String? = nil, field: String? = nil, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, miner: miner, field: field, message: message)
    }

    /// The mapping's entries by key, rejecting unknown keys (a typo must not pass silently).
    func entries(
        _ node: Node, known: [String], miner: String? = nil, field: String? = nil
    ) throws(ConfigError) -> [String: Node] {
        guard let mapping = node.mapping else {
            throw error(node, miner: miner, field: field, "expected a mapping of keys to values")
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string, known.contains(name) else {
                let unknown = key.string ?? "?"
                let hint = Suggestion.closest(to: unknown, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(
                    key, miner: miner, field: field,
                    "unknown key '\(unknown)'\(hint); expected one of: \(known.joined(separator: ", "))"
                )
            }
            result[name] = value
        }
        return result
    }

    func config(_ root: Node) throws(ConfigError) -> MinersConfig {
        let top = try entries(root, known: Self.topKeys)
        let database = try top["database"].map { node throws(ConfigError) in
            try nonEmptyString(node, field: "database")
        } ?? MinersConfig.defaultDatabase
        let supervisor = try top["supervisor"].map { node throws(ConfigError) in try self.supervisor(node) } ?? SupervisorConfig()
        let defaults = try top["defaults"].map { node throws(ConfigError) in
            try entries(node, known: Self.defaultKeys, field: "defaults")
        } ?? [:]
        let services = try self.services(top["services"], defaults: try defaults["service"].map { node throws(ConfigError) in
            try entries(node, known: Self.serviceDefaultKeys, field: "defaults.service")
        } ?? [:], metricsPort: supervisor.metricsPort)
        guard let minersNode = top["miners"] else { throw error(root, field: "miners", "is required: a list of miners") }
        guard let list = minersNode.sequence, !list.isEmpty else {
            throw error(minersNode, field: "miners", "expected a non-empty list of miners")
        }
        var miners: [MinerConfig] = []
        for node in list {
            let miner = try self.miner(node, defaults: defaults.filter { $0.key != "service" }, services: services)
            if services.contains(where: { $0.name == miner.name }) {
                throw error(node, miner: miner.name, field: "name", "the name is already used by a service (control commands take either)")
            }
            if let service = services.first(where: { $0.port == miner.port && Self.hostsOverlap($0.host, miner.host) && Self.sameMachine($0.fleetHost, miner.fleetHost) }) {
                throw error(node, miner: miner.name, field: "port", "port \(miner.port) on \(miner.host) is already used by service '\(service.name)'")
            }
            if miners.contains(where: { $0.name == miner.name }) {
                throw error(node, miner: miner.name, field: "name", "the name is already used by another miner")
            }
            if let other = miners.first(where: { $0.port == miner.port && Self.hostsOverlap($0.host, miner.host) && Self.sameMachine($0.fleetHost, miner.fleetHost) }) {
                let how = other.host == miner.host ? "" : " (\(other.host) and \(miner.host) overlap: a wildcard address takes the port on every address)"
                throw error(node, miner: miner.name, field: "port", "port \(miner.port) on \(miner.host) is already used by miner '\(other.name)'\(how)")
            }
            if miner.port == supervisor.metricsPort {
                throw error(node, miner: miner.name, field: "port", "port \(miner.port) is the supervisor's metrics_port")
            }
            if let other = miners.first(where: { $0.hotkey == miner.hotkey }) {
                throw error(node, miner: miner.name, field: "hotkey", "hotkey \(miner.hotkey) is already used by miner '\(other.name)'")
            }
            miners.append(miner)
        }
        var config = MinersConfig(file: file, database: database, miners: miners, supervisor: supervisor)
        config.services = services
        config.retention = try retention(top["retention"])
        config.alerts = try alerts(top["alerts"])
        // fleet: replication to PostgreSQL; retention then keeps the rows not yet replicated.
        config.fleet = try fleet(top["fleet"])
        config.retention.keepUnreplicated = config.fleet != nil
        return config
    }

    func supervisor(_ node: Node) throws(ConfigError) -> SupervisorConfig {
        let fields = try entries(node, known: Self.supervisorKeys, field: "supervisor")
        var config = SupervisorConfig()
        if let value = fields["grace_period"] {
            config.gracePeriod = try seconds(value, field: "supervisor.grace_period", allowZero: true, max: SupervisorConfig.maxGracePeriod)
        }
        if let value = fields["log_dir"] { config.logDirectory = try nonEmptyString(value, field: "supervisor.log_dir") }
        if let value = fields["metrics_port"] {
            config.metricsPort = try integer(value, field: "supervisor.metrics_port", in: 1...65535)
        }
        if let value = fields["metrics_host"] { config.metricsHost = try nonEmptyString(value, field: "supervisor.metrics_host") }
        if let value = fields["log_max_bytes"] {
            config.logMaxBytes = try byteSize(value, field: "supervisor.log_max_bytes", max: SupervisorConfig.maxLogMaxBytes)
        }
        if let value = fields["log_backups"] {
            config.logBackups = try integer(value, field: "supervisor.log_backups", in: 0...SupervisorConfig.maxLogBackups)
        }
        return config
    }

    func miner(_ node: Node, defaults: [String: Node], services: [ServiceConfig]) throws(ConfigError) -> MinerConfig {
        guard let mapping = node.mapping else {
            throw error(node, field: "miners", "each miner must be a mapping with at least name, hotkey, port and backend")
        }
        guard let nameNode = mapping["name"] else { throw error(node, field: "name", "is required: a unique miner name") }
        let name = try nonEmptyString(nameNode, field: "name")
        if name == Self.reservedName {
            throw error(nameNode, field: "name", "'\(Self.reservedName)' is reserved: the supervisor's own log is LOG_DIR/supervisor.log (`miners logs supervisor`)")
        }
        // The miner's own keys win; `backend` and `restart` merge key by key with the defaults
        // (a backend of another kind replaces the default one).
        var fields = defaults
        for (key, value) in try entries(node, known: Self.minerKeys, miner: name) {
            if var inherited = defaults[key], ["backend", "restart", "blacklist", "chain", "env"].contains(key) {
                // A miner's own server replaces the default one, whichever way each names it.
                if key == "backend", let own = value.mapping, own["base_url"] != nil || own["service"] != nil, let base = inherited.mapping {
                    inherited = .mapping(Node.Mapping(base.filter { $0.key.string != "base_url" && $0.key.string != "service" }.map { ($0.key, $0.value) }, base.tag, base.style, base.mark))
                }
                fields[key] = merge(inherited, value, replaceOnDifferent: key == "backend" ? "kind" : nil) ?? value
            } else {
                fields[key] = value
            }
        }

        func required(_ key: String, _ expected: String) throws(ConfigError) -> Node {
            guard let value = fields[key] else { throw error(node, miner: name, field: key, "is required: \(expected)") }
            return value
        }

        let (hotkey, wallet) = try self.hotkey(fields, node: node, miner: name)

        var miner = MinerConfig(
            name: name, hotkey: hotkey,
            port: try integer(try required("port", "a TCP port"), miner: name, field: "port", in: 1...65535),
            backend: try backend(try required("backend", "a mapping with a 'kind' (mock)"), miner: name, services: services)
        )
        miner.environment = try environment(fields, miner: name)
        miner.fleetHost = try fleetHost(fields[Self.fleetHostKey], miner: name)
        if let value = fields["max_rss"] { miner.maxRSS = try byteSize(value, miner: name, field: "max_rss") }
        if let value = fields["depends_on"] {
            miner.services = try names(value, miner: name, field: "depends_on")
            for service in miner.services where !services.contains(where: { $0.name == service }) {
                throw unknownService(service, node: value, field: "depends_on", services: services, owner: .miner(name))
            }
        }
        if let service = miner.backend.http?.service, !miner.services.contains(service) { miner.services.append(service) }
        if let value = fields["host"] { miner.host = try nonEmptyString(value, miner: name, field: "host") }
        if let value = fields["synapses"] {
            guard let list = value.sequence, !list.isEmpty else {
                throw error(value, miner: name, field: "synapses", "expected a non-empty list of synapse names, e.g. [StreameinsteinSynapse]")
            }
            miner.synapses = try list.map { item throws(ConfigError) in
                let synapse = try nonEmptyString(item, miner: name, field: "synapses")
                guard synapse.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw error(item, miner: name, field: "synapses", "'\(synapse)' is not a synapse class name (letters, digits, _)")
                }
                return synapse
            }
        }
        if let value = fields["streaming_batch_size"] {
            miner.streamingBatchSize = try integer(value, miner: name, field: "streaming_batch_size", in: 1...100_000)
        }
        if let value = fields["max_batch_chars"] {
            miner.batchBounds.maxChars = try integer(value, miner: name, field: "max_batch_chars", in: 1...1_000_000)
        }
        if let value = fields["max_batch_tokens"] {
            // At least 4: a piece cut to fit is at most this many UTF-8 bytes, and a character takes up to 4.
            miner.batchBounds.maxTokens = try integer(value, miner: name, field: "max_batch_tokens", in: 4...1_000_000)
        }
        if let value = fields["max_request_timeout"] {
            miner.maxRequestTimeout = try seconds(value, miner: name, field: "max_request_timeout", max: MinerConfig.maxRequestTimeoutLimit)
        }
        if let value = fields["timeout"] {
            miner.timeout = try timeout(value, miner: name)
            if case .fixed(let seconds) = miner.timeout, seconds > miner.maxRequestTimeout {
                throw error(value, miner: name, field: "timeout", "\(seconds) s is above max_request_timeout (\(miner.maxRequestTimeout) s)")
            }
        }
        if let value = fields["stop_on_forward_exception"] {
            guard value.scalar != nil, let flag = value.bool else {
                throw error(value, miner: name, field: "stop_on_forward_exception", "expected true or false, got '\(value.string ?? "?")'")
            }
            miner.stopOnForwardException = flag
        }
        if let value = fields["max_body_bytes"] {
            miner.maxBodyBytes = try integer(value, miner: name, field: "max_body_bytes", in: 1024...(256 << 20))
        }
        if let value = fields["restart"] { miner.restart = try restart(value, miner: name) }
        if let value = fields["blacklist"] { try blacklist(value, miner: name, into: &miner.admission) }
        if let value = fields["max_concurrent_streams"] {
            miner.admission.maxConcurrentStreams = try integer(value, miner: name, field: "max_concurrent_streams", in: 1...100_000)
        }
        if let value = fields["max_queued_requests"] {
            miner.admission.maxQueuedRequests = try integer(value, miner: name, field: "max_queued_requests", in: 0...1_000_000)
        }
        if let value = fields["max_nonce_skew"] {
            miner.admission.maxNonceSkew = try seconds(value, miner: name, field: "max_nonce_skew", allowZero: true, max: 3600)
        }
        if let value = fields["max_connections"] {
            miner.limits.maxConnections = try integer(value, miner: name, field: "max_connections", in: 1...1_000_000)
        }
        if let value = fields["max_connections_per_ip"] {
            miner.limits.maxConnectionsPerIP = try integer(value, miner: name, field: "max_connections_per_ip", in: 1...1_000_000)
        }
        if let value = fields["max_header_bytes"] {
            miner.limits.maxHeaderBytes = try integer(value, miner: name, field: "max_header_bytes", in: 1024...(1 << 20))
        }
        if let value = fields["header_timeout"] { miner.limits.headerTimeout = try seconds(value, miner: name, field: "header_timeout", max: 300) }
        if let value = fields["body_timeout"] { miner.limits.bodyTimeout = try seconds(value, miner: name, field: "body_timeout", max: 300) }
        if let value = fields["idle_timeout"] { miner.limits.idleTimeout = try seconds(value, miner: name, field: "idle_timeout", max: 3600) }
        if let value = fields["max_requests_per_minute"] {
            miner.limits.maxRequestsPerMinute = try integer(value, miner: name, field: "max_requests_per_minute", in: 1...1_000_000)
        }
        miner.wallet = wallet
        try chainSettings(fields, node: node, into: &miner)
        return miner
    }

    /// `hotkey: SS58` or `wallet: {path, name, hotkey}` (the wallet's public hotkey file).
    func hotkey(_ fields: [String: Node], node: Node, miner: String) throws(ConfigError) -> (String, WalletLocation?) {
        switch (fields["hotkey"], fields["wallet"]) {
        case (let hotkeyNode?, nil):
            let hotkey = try nonEmptyString(hotkeyNode, miner: miner, field: "hotkey")
            do {
                _ = try SS58.decode(hotkey)
            } catch {
                throw self.error(hotkeyNode, miner: miner, field: "hotkey", "'\(hotkey)' is not a valid SS58 address: \(error)")
            }
            return (hotkey, nil)
        case (nil, let walletNode?):
            let wallet = try entries(walletNode, known: Self.walletKeys, miner: miner, field: "wallet")
            guard let nameNode = wallet["name"], let hotkeyNode = wallet["hotkey"] else {
                throw error(walletNode, miner: miner, field: "wallet", "expected name and hotkey (and optionally path, default ~/.bittensor/wallets)")
            }
            let path = try wallet["path"].map { node throws(ConfigError) in try nonEmptyString(node, miner: miner, field: "wallet.path") }
                ?? "~/.bittensor/wallets"
            let walletName = try nonEmptyString(nameNode, miner: miner, field: "wallet.name")
            let hotkeyName = try nonEmptyString(hotkeyNode, miner: miner, field: "wallet.hotkey")
            do {
                let address = try WalletHotkey.address(wallets: path, name: walletName, hotkey: hotkeyName)
                return (address, WalletLocation(path: path, name: walletName, hotkey: hotkeyName))
            } catch {
                throw self.error(walletNode, miner: miner, field: "wallet", error.description)
            }
        case (.some, .some):
            throw error(node, miner: miner, field: "wallet", "give either hotkey (an SS58 address) or wallet, not both")
        case (nil, nil):
            throw error(node, miner: miner, field: "hotkey", "is required: the miner's SS58 hotkey address, or wallet: {path, name, hotkey}")
        }
    }

    /// `chain:`, `external_ip` and `external_port`, checked together: publishing needs a
    /// network, a subnet and the wallet's secret; refreshing needs a snapshot file to write.
    func chainSettings(_ fields: [String: Node], node: Node, into miner: inout MinerConfig) throws(ConfigError) {
        let name = miner.name
        if let chainNode = fields["chain"] {
            let entries = try entries(chainNode, known: Self.chainKeys, miner: name, field: "chain")
            guard let netuidNode = entries["netuid"] else {
                throw error(chainNode, miner: name, field: "chain.netuid", "is required: the subnet's number (35 for this subnet)")
            }
            var chain = ChainConfig(netuid: try integer(netuidNode, miner: name, field: "chain.netuid", in: 0...65535))
            if let value = entries["network"] {
                let network = try nonEmptyString(value, miner: name, field: "chain.network")
                guard ChainNetwork.url(network) != nil else {
                    throw error(value, miner: name, field: "chain.network", "unknown network '\(network)': expected \(ChainNetwork.expected)")
                }
                chain.network = network
            }
            if let value = entries["refresh"] {
                guard let text = value.string, let refresh = ChainConfig.Refresh(rawValue: text) else {
                    throw error(value, miner: name, field: "chain.refresh", "expected 'tempo' (rewrite blacklist.metagraph once per tempo) or 'off', got '\(value.string ?? "?")'")
                }
                chain.refresh = refresh
            }
            if let value = entries["ca_file"] {
                let path = try nonEmptyString(value, miner: name, field: "chain.ca_file")
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw error(value, miner: name, field: "chain.ca_file", "cannot read \(path) (PEM certificates to trust for a wss:// node)")
                }
                chain.caFile = path
            }
            if chain.refresh == .tempo, miner.admission.metagraph == nil {
                throw error(chainNode, miner: name, field: "chain.refresh", "'tempo' needs blacklist.metagraph: the snapshot file the supervisor writes and the worker reads")
            }
            miner.chain = chain
        }
        if let portNode = fields["external_port"], fields["external_ip"] == nil {
            throw error(portNode, miner: name, field: "external_ip", "is required with external_port: the public IP address to publish (it is never guessed)")
        }
        guard let ipNode = fields["external_ip"] else { return }
        let ip = try nonEmptyString(ipNode, miner: name, field: "external_ip")
        guard let parsed = IPAddressText.parse(ip) else {
            throw error(ipNode, miner: name, field: "external_ip", "'\(ip)' is not an IPv4 or IPv6 address; give the public address validators reach (host names are not resolved)")
        }
        if parsed.type == 4 ? parsed.value >> 24 == 127 : parsed.value == 1 {
            throw error(ipNode, miner: name, field: "external_ip", "'\(ip)' is a loopback address; the chain refuses it (error 11) and validators could not reach it")
        }
        let port = try fields["external_port"].map { node throws(ConfigError) in
            try integer(node, miner: name, field: "external_port", in: 1...65535)
        } ?? miner.port
        guard miner.chain != nil else {
            throw error(ipNode, miner: name, field: "chain", "is required with external_ip: {network, netuid} says where to publish the axon")
        }
        guard miner.wallet != nil else {
            throw error(ipNode, miner: name, field: "wallet", "is required with external_ip: publishing the axon is signed by the hotkey, read from wallet: {path, name, hotkey} (a bare hotkey address cannot sign)")
        }
        miner.externalAxon = ExternalAxon(ip: ip, port: port)
    }

    func blacklist(_ node: Node, miner: String, into admission: inout AdmissionConfig) throws(ConfigError) {
        let fields = try entries(node, known: Self.blacklistKeys, miner: miner, field: "blacklist")
        func hotkeys(_ key: String) throws(ConfigError) -> [String] {
            guard let value = fields[key] else { return [] }
            guard let list = value.sequence else { throw error(value, miner: miner, field: "blacklist.\(key)", "expected a list of SS58 hotkeys") }
            return try list.map { item throws(ConfigError) in
                let hotkey = try nonEmptyString(item, miner: miner, field: "blacklist.\(key)")
                do {
                    _ = try SS58.decode(hotkey)
                } catch {
                    throw self.error(item, miner: miner, field: "blacklist.\(key)", "'\(hotkey)' is not a valid SS58 address: \(error)")
                }
                return hotkey
            }
        }
        admission.allow = try hotkeys("allow")
        admission.deny = try hotkeys("deny")
        if let value = fields["metagraph"] { admission.metagraph = try nonEmptyString(value, miner: miner, field: "blacklist.metagraph") }
        if let value = fields["min_stake"] {
            guard value.scalar != nil, let stake = value.float, stake >= 0 else {
                throw error(value, miner: miner, field: "blacklist.min_stake", "expected a non-negative number, got '\(value.string ?? "?")'")
            }
            admission.minStake = stake
        }
        for (key, path) in [("require_validator_permit", \AdmissionConfig.requireValidatorPermit), ("allow_non_registered", \AdmissionConfig.allowNonRegistered)] {
            guard let value = fields[key] else { continue }
            guard value.scalar != nil, let flag = value.bool else {
                throw error(value, miner: miner, field: "blacklist.\(key)", "expected true or false, got '\(value.string ?? "?")'")
            }
            admission[keyPath: path] = flag
        }
        if admission.metagraph == nil, admission.minStake > 0 || admission.requireValidatorPermit {
            throw error(node, miner: miner, field: "blacklist.metagraph", "is required by min_stake and require_validator_permit (they read stakes and permits from it)")
        }
    }

    /// `override` laid over `base`, key by key; nil when either is not a mapping or when the
    /// `replaceOnDifferent` key differs (then the override replaces the base whole).
    func merge(_ base: Node, _ override: Node, replaceOnDifferent key: String?) -> Node? {
        guard let baseMapping = base.mapping, let overrideMapping = override.mapping else { return nil }
        if let key, let own = overrideMapping[key]?.string, own != baseMapping[key]?.string { return nil }
        var pairs: [(Node, Node)] = baseMapping.filter { pair in overrideMapping[pair.key] == nil }.map { ($0.key, $0.value) }
        pairs += overrideMapping.map { ($0.key, $0.value) }
        return .mapping(Node.Mapping(pairs, overrideMapping.tag, overrideMapping.style, overrideMapping.mark))
    }

    func restart(_ node: Node, miner: String?) throws(ConfigError) -> RestartPolicyConfig {
        let fields = try entries(node, known: Self.restartKeys, miner: miner, field: "restart")
        var policy = RestartPolicyConfig()
        if let value = fields["backoff_initial"] { policy.backoffInitial = try seconds(value, miner: miner, field: "restart.backoff_initial") }
        if let value = fields["backoff_max"] { policy.backoffMax = try seconds(value, miner: miner, field: "restart.backoff_max") }
        if let value = fields["min_uptime"] { policy.minUptime = try seconds(value, miner: miner, field: "restart.min_uptime", allowZero: true) }
        if let value = fields["window"] { policy.window = try seconds(value, miner: miner, field: "restart.window", max: 7 * 86_400) }
        if let value = fields["crash_loop_cooldown"] {
            policy.crashLoopCooldown = try seconds(value, miner: miner, field: "restart.crash_loop_cooldown", allowZero: true, max: 7 * 86_400)
        }
        if let value = fields["max_restarts"] {
            policy.maxRestarts = try integer(value, miner: miner, field: "restart.max_restarts", in: 0...1_000_000)
        }
        if policy.backoffMax < policy.backoffInitial {
            throw error(node, miner: miner, field: "restart.backoff_max", "must be at least backoff_initial (\(policy.backoffInitial) s)")
        }
        return policy
    }

    func timeout(_ node: Node, miner: String?) throws(ConfigError) -> TimeoutPolicy {
        if node.string == "request" { return .request }
        guard node.scalar != nil, let seconds = node.float, seconds.isFinite, seconds > 0, seconds <= MinerConfig.maxRequestTimeoutLimit else {
            throw error(node, miner: miner, field: "timeout", "expected 'request' (use the request's timeout) or a number of seconds above 0 and at most \(Int(MinerConfig.maxRequestTimeoutLimit)), got '\(node.string ?? "?")'")
        }
        return .fixed(seconds: seconds)
    }

    func backend(_ node: Node, miner: String?, services: [ServiceConfig] = []) throws(ConfigError) -> BackendConfig {
        guard let mapping = node.mapping else {
            throw error(node, miner: miner, field: "backend", "expected a mapping with a 'kind' (\(Self.backendKinds.joined(separator: ", ")))")
        }
        guard let kindNode = mapping["kind"] else {
            throw error(node, miner: miner, field: "backend.kind", "is required: one of \(Self.backendKinds.joined(separator: ", "))")
        }
        let kind = try nonEmptyString(kindNode, miner: miner, field: "backend.kind")
        switch kind {
        case "mock":
            let fields = try entries(node, known: Self.mockKeys, miner: miner, field: "backend")
            var mock = MockBackendConfig()
            if let value = fields["text"] { mock.text = try string(value, miner: miner, field: "backend.text") }
            if let value = fields["delay_ms"] {
                mock.delayMilliseconds = try integer(value, miner: miner, field: "backend.delay_ms", in: 0...600_000)
            }
            if let value = fields["fail_after"] {
                mock.failAfter = try integer(value, miner: miner, field: "backend.fail_after", in: 0...Int.max)
            }
            return .mock(mock)
        case "openai":
            let fields = try entries(node, known: Self.openAIKeys, miner: miner, field: "backend")
            guard let model = fields["model"] else { throw error(node, miner: miner, field: "backend.model", "is required: the model name the server serves") }
            var config = OpenAIBackendConfig(http: try http(fields, node: node, miner: miner, services: services, path: "/v1"), model: try nonEmptyString(model, miner: miner, field: "backend.model"))
            if let value = fields["api_key_env"] { config.apiKeyEnv = try nonEmptyString(value, miner: miner, field: "backend.api_key_env") }
            if let value = fields["temperature"] { config.temperature = try number(value, miner: miner, field: "backend.temperature", in: 0...2) }
            if let value = fields["top_p"] { config.topP = try number(value, miner: miner, field: "backend.top_p", in: 0...1) }
            if let value = fields["max_tokens"] { config.maxTokens = try integer(value, miner: miner, field: "backend.max_tokens", in: 1...1_000_000) }
            if let value = fields["system_prompt"] { config.systemPrompt = try optionalText(value, miner: miner, field: "backend.system_prompt") }
            if let value = fields["reasoning"] { config.reasoning = try choice(value, miner: miner, field: "backend.reasoning") }
            if let value = fields["extra_body"] {
                guard case .object(let body) = try configValue(value, miner: miner, field: "backend.extra_body", depth: 0) else {
                    throw error(value, miner: miner, field: "backend.extra_body", "expected a mapping of request fields, e.g. {top_k: 20, chat_template_kwargs: {enable_thinking: false}}")
                }
                if let reserved = Self.reservedBodyKeys.first(where: { body[$0] != nil }) {
                    throw error(value, miner: miner, field: "backend.extra_body.\(reserved)", "is set by the backend itself and cannot be overridden")
                }
                config.extraBody = body
            }
            return .openai(config)
        case "tgi":
            let fields = try entries(node, known: Self.tgiKeys, miner: miner, field: "backend")
            var config = TGIBackendConfig(http: try http(fields, node: node, miner: miner, services: services, path: ""))
            if let value = fields["api"] { config.api = try choice(value, miner: miner, field: "backend.api") }
            if let value = fields["seed"] { config.seed = try integer(value, miner: miner, field: "backend.seed", in: 0...Int(UInt32.max)) }
            if config.api == .messages {
                // The Messages API takes only OpenAI's fields and lays the prompt out itself.
                for key in ["top_k", "repetition_penalty", "message_template", "assistant_prefix"] where fields[key] != nil {
                    throw error(fields[key], miner: miner, field: "backend.\(key)", "is only used with 'api: generate' (TGI's Messages API has no such field)")
                }
            }
            if let value = fields["max_new_tokens"] { config.maxNewTokens = try integer(value, miner: miner, field: "backend.max_new_tokens", in: 1...1_000_000) }
            if let value = fields["temperature"] { config.temperature = try number(value, miner: miner, field: "backend.temperature", in: 0...100) }
            if let value = fields["top_p"] { config.topP = try number(value, miner: miner, field: "backend.top_p", in: 0...1) }
            if let value = fields["top_k"] { config.topK = try integer(value, miner: miner, field: "backend.top_k", in: 1...1_000_000) }
            if let value = fields["repetition_penalty"] { config.repetitionPenalty = try number(value, miner: miner, field: "backend.repetition_penalty", in: 0...100) }
            if let value = fields["stop"] {
                guard let list = value.sequence else { throw error(value, miner: miner, field: "backend.stop", "expected a list of strings") }
                config.stop = try list.map { item throws(ConfigError) in try string(item, miner: miner, field: "backend.stop") }
            }
            if let value = fields["message_template"] { config.messageTemplate = try string(value, miner: miner, field: "backend.message_template") }
            if let value = fields["assistant_prefix"] { config.assistantPrefix = try string(value, miner: miner, field: "backend.assistant_prefix") }
            if let value = fields["system_prompt"] { config.systemPrompt = try optionalText(value, miner: miner, field: "backend.system_prompt") }
            return .tgi(config)
        default:
            let hint = Suggestion.closest(to: kind, in: Self.backendKinds).map { " (did you mean '\($0)'?)" } ?? ""
            throw error(kindNode, miner: miner, field: "backend.kind", "unknown backend '\(kind)'\(hint); expected one of: \(Self.backendKinds.joined(separator: ", "))")
        }
    }

    /// - Parameter path: what follows the server's root in a `base_url` taken from a service.
    func http(_ fields: [String: Node], node: Node, miner: String?, services: [ServiceConfig], path: String) throws(ConfigError) -> HTTPBackendConfig {
        var config: HTTPBackendConfig
        switch (fields["base_url"], fields["service"]) {
        case (let urlNode?, nil):
            let url = try nonEmptyString(urlNode, miner: miner, field: "backend.base_url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw error(urlNode, miner: miner, field: "backend.base_url", "expected an http:// or https:// URL, got '\(url)'")
            }
            config = HTTPBackendConfig(baseURL: url.hasSuffix("/") ? String(url.dropLast()) : url)
        case (nil, let serviceNode?):
            let name = try nonEmptyString(serviceNode, miner: miner, field: "backend.service")
            guard let service = services.first(where: { $0.name == name }) else {
                throw unknownService(name, node: serviceNode, field: "backend.service", services: services, owner: miner.map { .miner($0) } ?? .service(name))
            }
            config = HTTPBackendConfig(baseURL: service.rootURL + path)
            config.service = name
        case (.some, .some):
            throw error(node, miner: miner, field: "backend.service", "give base_url or service, not both (a service's URL is http://HOST:PORT from its host and port)")
        case (nil, nil):
            throw error(node, miner: miner, field: "backend.base_url", "is required: the server's URL, e.g. http://127.0.0.1:8000/v1, or service: NAME for a service of this config")
        }
        if let value = fields["connect_timeout"] { config.connectTimeout = try seconds(value, miner: miner, field: "backend.connect_timeout", max: 300) }
        if let value = fields["idle_timeout"] { config.idleTimeout = try seconds(value, miner: miner, field: "backend.idle_timeout", max: 3600) }
        if let value = fields["max_connections"] { config.maxConnections = try integer(value, miner: miner, field: "backend.max_connections", in: 1...10_000) }
        if let value = fields["warmup"] { config.warmup = try bool(value, miner: miner, field: "backend.warmup") }
        if let value = fields["keep_alive"] { config.keepAlive = try keepAlive(value, miner: miner) }
        if let value = fields["metrics_url"] {
            let metrics = try nonEmptyString(value, miner: miner, field: "backend.metrics_url")
            guard metrics.hasPrefix("http://") || metrics.hasPrefix("https://") else {
                throw error(value, miner: miner, field: "backend.metrics_url", "expected an http:// or https:// URL, got '\(metrics)'")
            }
            config.metricsURL = metrics
        }
        if let value = fields["extra_headers"] {
            guard let mapping = value.mapping else { throw error(value, miner: miner, field: "backend.extra_headers", "expected a mapping of header names to values") }
            for (key, header) in mapping {
                config.extraHeaders[try nonEmptyString(key, miner: miner, field: "backend.extra_headers")] = try string(header, miner: miner, field: "backend.extra_headers")
            }
        }
        return config
    }

    /// `-1` (forever), `0`, a number of seconds, or a duration such as `30m`, `1h30m`, `45s`.
    func keepAlive(_ node: Node, miner: String?) throws(ConfigError) -> KeepAlive {
        if node.scalar != nil, let seconds = node.int, (-1...31_536_000).contains(seconds) { return .seconds(seconds) }
        if let text = node.scalar?.string, text.utf8.count <= 32, Self.isGoDuration(text) { return .duration(text) }
        throw error(node, miner: miner, field: "backend.keep_alive", "expected -1 (keep the model loaded), a number of seconds up to a year, or a duration such as 30m or 1h, got '\(node.string ?? "?")'")
    }

    /// `-?(digits unit)+` with Go's units, as Ollama parses `keep_alive`.
    static func isGoDuration(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, digits.filter({ $0 == "." }).count <= 1 else { return false }
            rest = rest.dropFirst(digits.count)
            guard let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].sorted(by: { $0.count > $1.count }).first(where: { rest.hasPrefix($0) }) else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }

    /// One of an enum's raw values, naming them all when it is not.
    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, miner: String?, field: String) throws(ConfigError) -> T where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        guard let text = node.scalar?.string, let value = T(rawValue: text) else {
            throw error(node, miner: miner, field: field, "expected one of: \(names.joined(separator: ", ")), got '\(node.string ?? "?")'")
        }
        return value
    }

    /// A YAML value as a JSON one, at most 16 levels deep (the config is the operator's, but a
    /// recursive walk is bounded all the same).
    func configValue(_ node: Node, miner: String?, field: String, depth: Int) throws(ConfigError) -> ConfigValue {
        guard depth < 16 else { throw error(node, miner: miner, field: field, "nested more than 16 levels deep") }
        switch node {
        case .scalar(let scalar):
            if node.null != nil || scalar.tag.description == Tag.Name.null.rawValue { return .null }
            if let value = node.bool, scalar.style == .plain { return .bool(value) }
            if let value = node.int, scalar.style == .plain { return .int(value) }
            if let value = node.float, scalar.style == .plain, value.isFinite { return .double(value) }
            return .string(scalar.string)
        case .sequence(let sequence):
            var values: [ConfigValue] = []
            for item in sequence { values.append(try configValue(item, miner: miner, field: field, depth: depth + 1)) }
            return .array(values)
        case .mapping(let mapping):
            var fields: [String: ConfigValue] = [:]
            for (key, value) in mapping {
                let name = try nonEmptyString(key, miner: miner, field: field)
                fields[name] = try configValue(value, miner: miner, field: "\(field).\(name)", depth: depth + 1)
            }
            return .object(fields)
        case .alias:
            throw error(node, miner: miner, field: field, "aliases are not supported here")
        }
    }

    func bool(_ node: Node, miner: String?, field: String) throws(ConfigError) -> Bool {
        guard node.scalar != nil, let value = node.bool else { throw error(node, miner: miner, field: field, "expected true or false, got '\(node.string ?? "?")'") }
        return value
    }

    func string(_ node: Node, miner: String?, field: String) throws(ConfigError) -> String {
        guard node.scalar != nil, let text = node.string else { throw error(node, miner: miner, field: field, "expected a string") }
        return text
    }

    /// A string, or null/empty to leave it out.
    func optionalText(_ node: Node, miner: String?, field: String) throws(ConfigError) -> String? {
        if node == Node("~") || node.null != nil { return nil }
        let text = try string(node, miner: miner, field: field)
        return text.isEmpty ? nil : text
    }

    func number(_ node: Node, miner: String?, field: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard node.scalar != nil, let value = node.float, range.contains(value) else {
            throw error(node, miner: miner, field: field, "expected a number from \(range.lowerBound) to \(range.upperBound), got '\(node.string ?? "?")'")
        }
        return value
    }

    func nonEmptyString(_ node: Node, miner: String? = nil, field: String) throws(ConfigError) -> String {
        guard node.scalar != nil, let text = node.string, !text.isEmpty else {
            throw error(node, miner: miner, field: field, "expected a non-empty string")
        }
        return text
    }

    /// A number of seconds, bounded: every duration becomes `Duration` arithmetic somewhere, and
    /// an unbounded one (1e30) would trap there. The default bound is a day.
    func seconds(
        _ node: Node, miner: String? = nil, field: String, allowZero: Bool = false, max: Double = 86_400
    ) throws(ConfigError) -> Double {
        guard node.scalar != nil, let value = node.float, value.isFinite, allowZero ? value >= 0 : value > 0, value <= max else {
            let bound = max.rounded() == max ? String(Int(max)) : String(max)
            throw error(node, miner: miner, field: field, "expected a number of seconds \(allowZero ? "from 0 to" : "above 0 and at most") \(bound), got '\(node.string ?? "?")'")
        }
        return value
    }

    func integer(_ node: Node, miner: String? = nil, field: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard node.scalar != nil, let value = node.int, range.contains(value) else {
            let bounds = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw error(node, miner: miner, field: field, "expected an integer \(bounds), got '\(node.string ?? "?")'")
        }
        return value
    }
}
