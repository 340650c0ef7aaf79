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
        headers.timeout = try parseNumber("timeout", value, Double.init)
        if let timeout = headers.timeout, !(timeout.isFinite && timeout >= 0) {
            throw .badHeader("timeout", "must be a non-negative number of seconds, got '\(value("timeout") ?? "")'")
        }
        _ = try parseNumber("bt_header_axon_port", value, Int.init)
        _ = try parseNumber("bt_header_dendrite_port", value, Int.init)
        headers.dendriteVersion = try parseNumber("bt_header_dendrite_version", value, Int.init)
        headers.dendriteNonce = try parseNumber("bt_header_dendrite_nonce", value, Int64.init)
        headers.headerSize = try parseNumber("header_size", value, Int.init)
        headers.totalSize = try parseNumber("total_size", value, Int.init)
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
        _ name: String, _ value: (String) -> String?, _ make: (String) -> T?
    ) throws(Rejection) -> T? {
        guard let text = value(name) else { return nil }
        guard let number = make(text.trimmingCharacters(in: .whitespaces)) else {
            throw .badHeader(name, "must be a number, got '\(text.prefix(64))'")
        }
        return number
    }
}
