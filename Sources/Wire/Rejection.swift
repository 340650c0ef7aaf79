import Foundation

/// Why a request is refused before streaming, with the status and the `{"message": ...}` body
/// the client receives. `reason` is a short stable code for the log and for analysis.
public struct Rejection: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    public var message: String

    public init(status: Int, reason: String, message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(status) \(reason): \(message)" }

    /// `{"message":"..."}` as the Python axon's `JSONResponse` writes it.
    public var body: String {
        let data = try? JSONSerialization.data(withJSONObject: ["message": message], options: [.withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? #"{"message":"error"}"#
    }

    // The Python axon's wording, kept exactly: dendrites and dashboards match on it.
    public static func unknownSynapse(_ name: String, available: [String]) -> Rejection {
        Rejection(
            status: 404, reason: "unknown_synapse",
            message: "Synapse name '\(name)' not found. Available synapses \(PythonRepr.list(available.map { PythonString($0) }))"
        )
    }

    public static func badHeader(_ name: String, _ problem: String) -> Rejection {
        Rejection(status: 400, reason: "bad_header", message: "Header '\(name)' \(problem)")
    }

    public static func badField(_ path: String, _ problem: String) -> Rejection {
        Rejection(status: 422, reason: "bad_field", message: "Body field '\(path)' \(problem)")
    }
}
