/// The `dendrite` / `axon` objects of a synapse (bittensor's `TerminalInfo`), in field order.
public struct TerminalInfo: Sendable, Equatable {
    public var statusCode: Int?
    public var statusMessage: String?
    public var processTime: Double?
    public var ip: String?
    public var port: Int?
    public var version: Int?
    public var nonce: Int64?
    public var uuid: String?
    public var hotkey: String?
    public var signature: String?

    public init(
        statusCode: Int? = nil, statusMessage: String? = nil, processTime: Double? = nil,
        ip: String? = nil, port: Int? = nil, version: Int? = nil, nonce: Int64? = nil,
        uuid: String? = nil, hotkey: String? = nil, signature: String? = nil
    ) {
        self.statusCode = statusCode
        self.statusMessage = statusMessage
        self.processTime = processTime
        self.ip = ip
        self.port = port
        self.version = version
        self.nonce = nonce
        self.uuid = uuid
        self.hotkey = hotkey
        self.signature = signature
    }

    /// `bt_header_{prefix}_{field}: str(value)` for every field that is set, in model order, as
    /// `Synapse.to_headers()` writes them.
    public func headers(prefix: String) -> [(String, String)] {
        let fields: [(String, String?)] = [
            ("status_code", statusCode.map(String.init)),
            ("status_message", statusMessage),
            ("process_time", processTime.map(\.description)),
            ("ip", ip),
            ("port", port.map(String.init)),
            ("version", version.map(String.init)),
            ("nonce", nonce.map(String.init)),
            ("uuid", uuid),
            ("hotkey", hotkey),
            ("signature", signature),
        ]
        return fields.compactMap { name, value in value.map { ("bt_header_\(prefix)_\(name)", $0) } }
    }
}
