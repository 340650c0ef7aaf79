import Foundation

/// The request headers a dendrite sends, checked for form as `Synapse.from_headers` would
/// parse them. Values that carry no meaning (`header_size`, `total_size`) still must parse.
public struct SynapseHeaders: Sendable, Equatable {
    public var timeout: Double?
    public var axonHotkey: String?
    public var dendriteHotkey: String?
    public var dendriteNonce: Int64?
    public var dendriteUUID: String?
    public var dendriteSignature: String?
    public var dendriteVersion: Int?
    public var computedBodyHash: String?
    public var headerSize: Int?
    public var totalSize: Int?

    public init() {}

    /// Parses the headers through `value(name)` (case-insensitive lookup by the caller).
    public static func parse(_ value: (String) -> String?) throws(Rejection) -> SynapseHeaders {
        var headers = SynapseHeaders()
        // Parsed, not yet bounded: the miner's request budget decides how much time it gets.
        headers.timeout = try parseNumber("timeout", value) { DecimalText.double($0) }
        if let timeout = headers.timeout, timeout < 0 {
            throw .badHeader("timeout", "must be a non-negative number of seconds, got '\(value("timeout")?.prefix(64) ?? "")'")
        }
        _ = try parseNumber("bt_header_axon_port", value) { DecimalText.integer($0, as: Int.self) }
        _ = try parseNumber("bt_header_dendrite_port", value) { DecimalText.integer($0, as: Int.self) }
        headers.dendriteVersion = try parseNumber("bt_header_dendrite_version", value) { DecimalText.integer($0, as: Int.self) }
        headers.dendriteNonce = try parseNumber("bt_header_dendrite_nonce", value) { DecimalText.integer($0, as: Int64.self) }
        headers.headerSize = try parseNumber("header_size", value) { DecimalText.integer($0, as: Int.self) }
        headers.totalSize = try parseNumber("total_size", value) { DecimalText.integer($0, as: Int.self) }
        headers.axonHotkey = value("bt_header_axon_hotkey")
        headers.dendriteHotkey = value("bt_header_dendrite_hotkey")
        headers.dendriteUUID = value("bt_header_dendrite_uuid")
        headers.dendriteSignature = value("bt_header_dendrite_signature")
        headers.computedBodyHash = value("computed_body_hash")
        for field in ["bt_header_input_obj_roles", "bt_header_input_obj_messages"] {
            if let encoded = value(field) {
                guard let data = Data(base64Encoded: encoded),
                      (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
                else { throw .badHeader(field, "must be base64-encoded JSON, got '\(encoded.prefix(64))'") }
            }
        }
        return headers
    }

    private static func parseNumber<T>(
        _ name: String, _ value: (String) -> String?, _ make: (Substring) -> T?
    ) throws(Rejection) -> T? {
        guard let text = value(name) else { return nil }
        guard let number = make(Substring(text.trimmingCharacters(in: .whitespaces))) else {
            throw .badHeader(name, "must be a decimal number, got '\(text.prefix(64))'")
        }
        return number
    }
}
