/// The JSON body of a `StreameinsteinSynapse` (or any streaming synapse with the same fields),
/// validated field by field so a malformed request gets a message naming the field.
public struct SynapseRequest: Sendable, Equatable {
    public var name: String?
    /// Seconds; bittensor's default is 12.
    public var timeout: Double
    public var roles: [String]
    public var messages: [PythonString]
    public var completion: String
    public var dendrite: TerminalInfo
    public var axon: TerminalInfo
    public var computedBodyHash: String
    public var requiredHashFields: [String]
    public var headerSize: Int?
    public var totalSize: Int?

    public init(
        name: String? = nil, timeout: Double = 12, roles: [String], messages: [PythonString],
        completion: String = "", dendrite: TerminalInfo = .init(), axon: TerminalInfo = .init(),
        computedBodyHash: String = "", requiredHashFields: [String] = ["messages"],
        headerSize: Int? = nil, totalSize: Int? = nil
    ) {
        self.name = name
        self.timeout = timeout
        self.roles = roles
        self.messages = messages
        self.completion = completion
        self.dendrite = dendrite
        self.axon = axon
        self.computedBodyHash = computedBodyHash
        self.requiredHashFields = requiredHashFields
        self.headerSize = headerSize
        self.totalSize = totalSize
    }

    /// Parses and validates a request body.
    public static func decode(_ body: [UInt8]) throws(Rejection) -> SynapseRequest {
        let json: JSONValue
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw Rejection(status: 422, reason: "invalid_json", message: "Request body is not valid JSON: \(error)")
        }
        guard case .object(let fields) = json else {
            throw Rejection(status: 422, reason: "bad_field", message: "Request body must be a JSON object, got \(json.typeName)")
        }
        let reader = FieldReader(fields: fields, path: "")
        var request = SynapseRequest(
            roles: try reader.required("roles", reader.stringList),
            messages: try reader.required("messages", reader.pythonStringList)
        )
        request.name = try reader.optional("name", reader.string)
        request.timeout = try reader.optional("timeout", reader.double) ?? 12
        guard request.timeout.isFinite, request.timeout >= 0 else {
            throw .badField("timeout", "must be a non-negative number of seconds")
        }
        request.completion = try reader.optional("completion", reader.string) ?? ""
        request.dendrite = try reader.optional("dendrite", reader.terminalInfo) ?? TerminalInfo()
        request.axon = try reader.optional("axon", reader.terminalInfo) ?? TerminalInfo()
        request.computedBodyHash = try reader.optional("computed_body_hash", reader.string) ?? ""
        request.requiredHashFields = try reader.optional("required_hash_fields", reader.stringList) ?? ["messages"]
        request.headerSize = try reader.optional("header_size", reader.int)
        request.totalSize = try reader.optional("total_size", reader.int)
        return request
    }

    /// The body hash of this request's `messages`.
    public var bodyHash: String { BodyHash.of(messages: messages) }
}

/// Reads typed fields out of a JSON object, naming the field path in every error.
private struct FieldReader {
    let fields: [String: JSONValue]
    let path: String

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func required<T>(_ key: String, _ read: (JSONValue, String) throws(Rejection) -> T) throws(Rejection) -> T {
        guard let value = fields[key] else { throw .badField(name(key), "is required") }
        return try read(value, name(key))
    }

    /// A missing field and an explicit `null` both mean "not set", as in pydantic's `Optional`.
    func optional<T>(_ key: String, _ read: (JSONValue, String) throws(Rejection) -> T) throws(Rejection) -> T? {
        guard let value = fields[key], value != .null else { return nil }
        return try read(value, name(key))
    }

    func string(_ value: JSONValue, _ path: String) throws(Rejection) -> String {
        guard case .string(let text) = value else { throw .badField(path, "must be a string, got \(value.typeName)") }
        return text.string
    }

    func pythonStringList(_ value: JSONValue, _ path: String) throws(Rejection) -> [PythonString] {
        guard case .array(let items) = value else { throw .badField(path, "must be a list of strings, got \(value.typeName)") }
        var strings: [PythonString] = []
        strings.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw .badField("\(path)[\(index)]", "must be a string, got \(item.typeName)")
            }
            strings.append(text)
        }
        return strings
    }

    func stringList(_ value: JSONValue, _ path: String) throws(Rejection) -> [String] {
        try pythonStringList(value, path).map(\.string)
    }

    func double(_ value: JSONValue, _ path: String) throws(Rejection) -> Double {
        guard case .number(let text) = value, let number = Double(text) else {
            throw .badField(path, "must be a number, got \(value.typeName)")
        }
        return number
    }

    func int(_ value: JSONValue, _ path: String) throws(Rejection) -> Int {
        guard case .number(let text) = value, let number = Int(text) else {
            throw .badField(path, "must be an integer, got \(value.typeName == "a number" ? "'\(value)'" : value.typeName)")
        }
        return number
    }

    func int64(_ value: JSONValue, _ path: String) throws(Rejection) -> Int64 {
        guard case .number(let text) = value, let number = Int64(text) else {
            throw .badField(path, "must be an integer, got \(value.typeName)")
        }
        return number
    }

    func terminalInfo(_ value: JSONValue, _ path: String) throws(Rejection) -> TerminalInfo {
        guard case .object(let fields) = value else { throw .badField(path, "must be an object, got \(value.typeName)") }
        let reader = FieldReader(fields: fields, path: path)
        return TerminalInfo(
            statusCode: try reader.optional("status_code", reader.int),
            statusMessage: try reader.optional("status_message", reader.string),
            processTime: try reader.optional("process_time", reader.double),
            ip: try reader.optional("ip", reader.string),
            port: try reader.optional("port", reader.int),
            version: try reader.optional("version", reader.int),
            nonce: try reader.optional("nonce", reader.int64),
            uuid: try reader.optional("uuid", reader.string),
            hotkey: try reader.optional("hotkey", reader.string),
            signature: try reader.optional("signature", reader.string)
        )
    }
}
