import Foundation
import Keys
import Yams

/// A configuration matrix (`miners matrix FILE`): axes whose every combination is one cell,
/// each run as its own miner under a supervisor and loaded by the validator simulator.
public struct MatrixConfig: Sendable {
    public var file: String
    /// Where the workers log and the simulator stores what the validators got.
    public var database = "var/matrix.sqlite"
    /// The miner hotkey every cell serves (requests are signed for it); //Alice by default.
    public var hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    public var load = Load()
    public var backends: [Backend] = [Backend(yaml: "{kind: mock}", config: .mock(MockBackendConfig()))]
    public var batchSizes = [12]
    public var timeouts: [TimeoutPolicy] = [.request]
    public var validatorTimeouts: [Double] = [17]
    public var concurrencies: [Int] = [1]

    /// The load each cell gets, but for the axes (concurrency, validator timeout).
    public struct Load: Sendable, Equatable {
        public var requests = 20
        public var rate: Double?
        public var validators = 2
        /// nil: arithmetic questions with known answers, posed in `questionStyle`.
        public var question: String?
        public var questionStyle = QuestionStyle.einstein
        public var reference: Double?
        public var maxDuration = 300.0
    }

    public struct Backend: Sendable, Equatable {
        /// The backend as a worker config takes it (flow YAML).
        public var yaml: String
        public var config: BackendConfig

        public var label: String {
            switch config {
            case .mock(let mock): "mock \(mock.delayMilliseconds)ms" + (mock.text == nil ? "" : " text")
            case .openai(let openai): "openai \(openai.model)"
            case .tgi(let tgi): "tgi \(tgi.http.baseURL)"
            }
        }
    }

    public struct Cell: Sendable, Equatable {
        public var index: Int
        public var backend: Backend
        public var batchSize: Int
        public var timeout: TimeoutPolicy
        public var validatorTimeout: Double
        public var concurrency: Int

        /// The worker's name in the log.
        public var name: String { "cell-\(index + 1)" }

        public var label: String {
            "\(backend.label), batch \(batchSize), timeout \(timeout), validator \(Self.number(validatorTimeout))s, concurrency \(concurrency)"
        }

        public var settingsJSON: String {
            let timeoutValue = switch timeout {
            case .request: "\"request\""
            case .fixed(let seconds): Self.number(seconds)
            }
            let backendLabel = backend.label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return """
                {"backend": "\(backendLabel)", "streaming_batch_size": \(batchSize), "timeout": \(timeoutValue), \
                "validator_timeout": \(Self.number(validatorTimeout)), "concurrency": \(concurrency)}
                """
        }

        static func number(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(value)
        }
    }

    /// Every combination of the axes, in file order (the last axis varies fastest).
    public var cells: [Cell] {
        var cells: [Cell] = []
        for backend in backends {
            for batchSize in batchSizes {
                for timeout in timeouts {
                    for validatorTimeout in validatorTimeouts {
                        for concurrency in concurrencies {
                            cells.append(Cell(
                                index: cells.count, backend: backend, batchSize: batchSize, timeout: timeout,
                                validatorTimeout: validatorTimeout, concurrency: concurrency
                            ))
                        }
                    }
                }
            }
        }
        return cells
    }

    static let topKeys = ["database", "hotkey", "load", "axes"]
    static let loadKeys = ["requests", "rate", "validators", "question", "question_style", "reference", "max_duration"]
    static let axisKeys = ["backend", "streaming_batch_size", "timeout", "validator_timeout", "concurrency"]

    public static func load(path: String) throws(ConfigError) -> MatrixConfig {
        try parse(yaml: try YAMLFile.read(path, what: "matrix file"), file: path)
    }

    public static func parse(yaml: String, file: String) throws(ConfigError) -> MatrixConfig {
        let root = try YAMLFile.root(yaml, file: file, expected: "'axes' and 'load'")
        let reader = ConfigReader(file: file)
        var config = MatrixConfig(file: file)
        let top = try reader.entries(root, known: topKeys)
        if let value = top["database"] { config.database = try reader.nonEmptyString(value, field: "database") }
        if let value = top["hotkey"] {
            config.hotkey = try reader.nonEmptyString(value, field: "hotkey")
            guard (try? SS58.decode(config.hotkey)) != nil else {
                throw reader.error(value, field: "hotkey", "'\(config.hotkey)' is not an SS58 address")
            }
        }
        if let node = top["load"] {
            let load = try reader.entries(node, known: loadKeys, field: "load")
            if let value = load["requests"] { config.load.requests = try reader.integer(value, field: "load.requests", in: 1...1_000_000) }
            if let value = load["rate"] { config.load.rate = try reader.seconds(value, field: "load.rate") }
            if let value = load["validators"] { config.load.validators = try reader.integer(value, field: "load.validators", in: 1...1000) }
            if let value = load["question"], value.string != "arithmetic" {
                config.load.question = try reader.nonEmptyString(value, field: "load.question")
            }
            if let value = load["question_style"] {
                guard let text = value.scalar?.string, let style = QuestionStyle(rawValue: text) else {
                    let names = QuestionStyle.allCases.map(\.rawValue).joined(separator: ", ")
                    throw reader.error(value, field: "load.question_style", "expected one of: \(names), got '\(value.string ?? "?")'")
                }
                config.load.questionStyle = style
            }
            if let value = load["reference"] {
                guard let number = value.float else { throw reader.error(value, field: "load.reference", "expected the number that answers load.question") }
                config.load.reference = number
            }
            if let value = load["max_duration"] { config.load.maxDuration = try reader.seconds(value, field: "load.max_duration") }
        }
        guard let axesNode = top["axes"] else { throw reader.error(root, field: "axes", "is required: the settings to combine, e.g. streaming_batch_size: [4, 12]") }
        let axes = try reader.entries(axesNode, known: axisKeys, field: "axes")
        func list(_ key: String) throws(ConfigError) -> [Node]? {
            guard let node = axes[key] else { return nil }
            guard let items = node.sequence, !items.isEmpty else {
                throw reader.error(node, field: "axes.\(key)", "expected a non-empty list of values")
            }
            return Array(items)
        }
        if let items = try list("backend") {
            config.backends = try items.map { node throws(ConfigError) in
                Backend(yaml: Self.flow(node), config: try reader.backend(node, miner: nil))
            }
        }
        if let items = try list("streaming_batch_size") {
            config.batchSizes = try items.map { node throws(ConfigError) in try reader.integer(node, field: "axes.streaming_batch_size", in: 1...100_000) }
        }
        if let items = try list("timeout") {
            config.timeouts = try items.map { node throws(ConfigError) in try reader.timeout(node, miner: nil) }
        }
        if let items = try list("validator_timeout") {
            config.validatorTimeouts = try items.map { node throws(ConfigError) in try reader.seconds(node, field: "axes.validator_timeout") }
        }
        if let items = try list("concurrency") {
            config.concurrencies = try items.map { node throws(ConfigError) in try reader.integer(node, field: "axes.concurrency", in: 1...10_000) }
        }
        return config
    }

    /// A node as one line of flow YAML, as a worker config's `backend:` takes it.
    static func flow(_ node: Node) -> String {
        if let mapping = node.mapping {
            return "{" + mapping.map { "\(quote($0.key.string ?? "")): \(flow($0.value))" }.joined(separator: ", ") + "}"
        }
        if let sequence = node.sequence { return "[" + sequence.map(flow).joined(separator: ", ") + "]" }
        return quote(node.string ?? "")
    }

    /// Double-quoted YAML scalar; numbers stay numbers.
    static func quote(_ text: String) -> String {
        if Double(text) != nil { return text }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}
