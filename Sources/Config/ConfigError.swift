/// A config problem, worded for the operator: file, line, miner and field, and what was expected.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var miner: String?
    public var service: String?
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, miner: String? = nil, service: String? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.miner = miner
        self.service = service
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let miner { text += "miner '\(miner)': " }
        if let service { text += "service '\(service)': " }
        if let field { text += "field '\(field)': " }
        return text + message
    }
}
