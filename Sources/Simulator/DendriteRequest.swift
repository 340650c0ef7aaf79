import Foundation
import Wire

/// A request as bittensor 10.5.0's dendrite builds it: the same headers in the same order, the
/// same JSON body (Python's `json.dumps`: `", "` and `": "` separators, non-ASCII escaped), and
/// the signature over `nonce.dendrite.axon.uuid.body_hash`.
public struct DendriteRequest: Sendable {
    public var synapse = "StreameinsteinSynapse"
    public var messages: [String]
    public var timeout: Double
    public var axonHost: String
    public var axonPort: Int
    public var axonHotkey: String
    public var uuid: String
    public var nonce: Int64
    /// The version bittensor 10.5.0 sends.
    public static let version = 10_005_000

    public init(messages: [String], timeout: Double, axonHost: String, axonPort: Int, axonHotkey: String, uuid: String, nonce: Int64) {
        self.messages = messages
        self.timeout = timeout
        self.axonHost = axonHost
        self.axonPort = axonPort
        self.axonHotkey = axonHotkey
        self.uuid = uuid
        self.nonce = nonce
    }

    public var bodyHash: String { BodyHash.of(messages: messages.map { PythonString($0) }) }

    /// Headers then body, signed by `validator`.
    public func signed(by validator: SimulatedValidator) -> (headers: [(String, String)], body: String) {
        let hash = bodyHash
        let signature = validator.sign("\(nonce).\(validator.hotkey).\(axonHotkey).\(uuid).\(hash)")
        let timeoutText = Self.pythonFloat(timeout)
        let dendrite = """
            {"status_code": null, "status_message": null, "process_time": null, "ip": "\(axonHost)", "port": null, \
            "version": \(Self.version), "nonce": \(nonce), "uuid": \(Self.json(uuid)), "hotkey": "\(validator.hotkey)", \
            "signature": "\(signature)"}
            """
        let axon = """
            {"status_code": null, "status_message": null, "process_time": null, "ip": \(Self.json(axonHost)), \
            "port": \(axonPort), "version": null, "nonce": null, "uuid": null, "hotkey": "\(axonHotkey)", "signature": null}
            """
        let body = """
            {"name": "\(synapse)", "timeout": \(timeoutText), "total_size": 0, "header_size": 0, "dendrite": \(dendrite), \
            "axon": \(axon), "computed_body_hash": "", "required_hash_fields": ["messages"], "roles": ["user"], \
            "messages": [\(messages.map(Self.json).joined(separator: ", "))], "completion": ""}
            """
        let headers: [(String, String)] = [
            ("name", synapse), ("timeout", timeoutText),
            ("bt_header_axon_ip", axonHost), ("bt_header_axon_port", String(axonPort)), ("bt_header_axon_hotkey", axonHotkey),
            ("bt_header_dendrite_ip", axonHost), ("bt_header_dendrite_version", String(Self.version)),
            ("bt_header_dendrite_nonce", String(nonce)), ("bt_header_dendrite_uuid", uuid),
            ("bt_header_dendrite_hotkey", validator.hotkey), ("bt_header_dendrite_signature", signature),
            ("bt_header_input_obj_roles", "W10="), ("bt_header_input_obj_messages", "W10="),
            ("header_size", "0"), ("total_size", "0"), ("computed_body_hash", hash),
            ("Accept", "*/*"), ("User-Agent", "miners-simulate"), ("Content-Type", "application/json"),
        ]
        return (headers, body)
    }

    /// `repr(float)` for the values a timeout takes: `12.0`, `0.5`.
    static func pythonFloat(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e16 ? String(format: "%.1f", value) : String(value)
    }

    /// A JSON string as Python's `json.dumps` writes it (ASCII only).
    static func json(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default: out += String(format: "\\u%04x", unit)
            }
        }
        return out + "\""
    }
}
