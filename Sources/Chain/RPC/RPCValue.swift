import Foundation
import Keys

/// A JSON value of the node's JSON-RPC answers.
public indirect enum RPCValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([RPCValue])
    case object([String: RPCValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([RPCValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: RPCValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(_ key: String) -> RPCValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var int: Int? {
        switch self {
        case .int(let value): Int(value)
        // Headers carry block numbers as hex strings ("0x689052").
        case .string(let text) where text.hasPrefix("0x"): Int(text.dropFirst(2), radix: 16)
        default: nil
        }
    }

    public var isNull: Bool { self == .null }

    /// A `0x…` hex string as bytes.
    public var hexBytes: [UInt8]? {
        guard let text = string, text.hasPrefix("0x") else { return nil }
        return Hex.decode(text)
    }
}
