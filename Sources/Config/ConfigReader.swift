import Yams

/// Walks the YAML tree, turning every surprise into a `ConfigError` with its line.
struct ConfigReader {
    let file: String

    private func error(_ node: Node?, miner: String? = nil, field: String? = nil, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, miner: miner, field: field, message: message)
    }

    /// The mapping's entries by key, rejecting unknown keys (a typo must not pass silently).
    private func entries(
        _ node: Node, known: [String], miner: String? = nil, field: String? = nil
    ) throws(ConfigError) -> [String: Node] {
        guard let mapping = node.mapping else {
            throw error(node, miner: miner, field: field, "expected a mapping of keys to values")
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string, known.contains(name) else {
                throw error(
                    key, miner: miner, field: field,
                    "unknown key '\(key.string ?? "?")'; expected one of: \(known.joined(separator: ", "))"
                )
            }
            result[name] = value
        }
        return result
    }

    func config(_ root: Node) throws(ConfigError) -> MinersConfig {
        let top = try entries(root, known: ["database", "miners"])
        let database = try top["database"].map { node throws(ConfigError) in
            try nonEmptyString(node, field: "database")
        } ?? MinersConfig.defaultDatabase
        guard let minersNode = top["miners"] else { throw error(root, field: "miners", "is required: a list of miners") }
        guard let list = minersNode.sequence, !list.isEmpty else {
            throw error(minersNode, field: "miners", "expected a non-empty list of miners")
        }
        var miners: [MinerConfig] = []
        for node in list {
            let miner = try self.miner(node)
            if let other = miners.first(where: { $0.name == miner.name }) {
                throw error(node, miner: miner.name, field: "name", "the name is already used by another miner (\(other.name))")
            }
            if miners.contains(where: { $0.port == miner.port && $0.host == miner.host }) {
                throw error(node, miner: miner.name, field: "port", "port \(miner.port) on \(miner.host) is already used by another miner")
            }
            miners.append(miner)
        }
        return MinersConfig(file: file, database: database, miners: miners)
    }

    private func miner(_ node: Node) throws(ConfigError) -> MinerConfig {
        let known = [
            "name", "hotkey", "host", "port", "synapses", "streaming_batch_size", "timeout",
            "stop_on_forward_exception", "max_body_bytes", "backend",
        ]
        guard let mapping = node.mapping else {
            throw error(node, field: "miners", "each miner must be a mapping with at least name, hotkey, port and backend")
        }
        guard let nameNode = mapping["name"] else { throw error(node, field: "name", "is required: a unique miner name") }
        let name = try nonEmptyString(nameNode, field: "name")
        let fields = try entries(node, known: known, miner: name)

        func required(_ key: String, _ expected: String) throws(ConfigError) -> Node {
            guard let value = fields[key] else { throw error(node, miner: name, field: key, "is required: \(expected)") }
            return value
        }

        let hotkeyNode = try required("hotkey", "the miner's SS58 hotkey address")
        let hotkey = try nonEmptyString(hotkeyNode, miner: name, field: "hotkey")
        if let problem = SS58Format.problem(hotkey) { throw error(hotkeyNode, miner: name, field: "hotkey", problem) }

        var miner = MinerConfig(
            name: name, hotkey: hotkey,
            port: try integer(try required("port", "a TCP port"), miner: name, field: "port", in: 1...65535),
            backend: try backend(try required("backend", "a mapping with a 'kind' (mock)"), miner: name)
        )
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
        if let value = fields["timeout"] { miner.timeout = try timeout(value, miner: name) }
        if let value = fields["stop_on_forward_exception"] {
            guard let flag = value.bool else {
                throw error(value, miner: name, field: "stop_on_forward_exception", "expected true or false, got '\(value.string ?? "?")'")
            }
            miner.stopOnForwardException = flag
        }
        if let value = fields["max_body_bytes"] {
            miner.maxBodyBytes = try integer(value, miner: name, field: "max_body_bytes", in: 1024...(256 << 20))
        }
        return miner
    }

    private func timeout(_ node: Node, miner: String) throws(ConfigError) -> TimeoutPolicy {
        if node.string == "request" { return .request }
        guard node.scalar != nil, let seconds = node.float, seconds.isFinite, seconds > 0 else {
            throw error(node, miner: miner, field: "timeout", "expected 'request' (use the request's timeout) or a positive number of seconds, got '\(node.string ?? "?")'")
        }
        return .fixed(seconds: seconds)
    }

    private func backend(_ node: Node, miner: String) throws(ConfigError) -> BackendConfig {
        let kinds = ["mock"]
        guard let kindNode = try entries(node, known: ["kind", "text", "delay_ms", "fail_after"], miner: miner, field: "backend")["kind"] else {
            throw error(node, miner: miner, field: "backend.kind", "is required: one of \(kinds.joined(separator: ", "))")
        }
        let kind = try nonEmptyString(kindNode, miner: miner, field: "backend.kind")
        switch kind {
        case "mock":
            let fields = try entries(node, known: ["kind", "text", "delay_ms", "fail_after"], miner: miner, field: "backend")
            var mock = MockBackendConfig()
            if let value = fields["text"] {
                guard value.scalar != nil, let text = value.string else {
                    throw error(value, miner: miner, field: "backend.text", "expected a string")
                }
                mock.text = text
            }
            if let value = fields["delay_ms"] {
                mock.delayMilliseconds = try integer(value, miner: miner, field: "backend.delay_ms", in: 0...600_000)
            }
            if let value = fields["fail_after"] {
                mock.failAfter = try integer(value, miner: miner, field: "backend.fail_after", in: 0...Int.max)
            }
            return .mock(mock)
        default:
            throw error(kindNode, miner: miner, field: "backend.kind", "unknown backend '\(kind)'; expected one of: \(kinds.joined(separator: ", "))")
        }
    }

    private func nonEmptyString(_ node: Node, miner: String? = nil, field: String) throws(ConfigError) -> String {
        guard node.scalar != nil, let text = node.string, !text.isEmpty else {
            throw error(node, miner: miner, field: field, "expected a non-empty string")
        }
        return text
    }

    private func integer(_ node: Node, miner: String, field: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard node.scalar != nil, let value = node.int, range.contains(value) else {
            let bounds = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw error(node, miner: miner, field: field, "expected an integer \(bounds), got '\(node.string ?? "?")'")
        }
        return value
    }
}
