import Foundation

/// A YAML value kept for a JSON body (`extra_body`): typed as YAML resolved it, so
/// `enable_thinking: false` reaches the server as `false`, not `"false"`.
public indirect enum ConfigValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    /// The value as `JSONSerialization` takes it.
    public var jsonObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .int(let value): value
        case .double(let value): value
        case .string(let value): value
        case .array(let values): values.map(\.jsonObject)
        case .object(let fields): fields.mapValues(\.jsonObject)
        }
    }
}
