/// A backend fault, worded for the log: the stream ends with what was sent and the request is
/// logged as `stream_error` with this as its reason.
public struct BackendError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unreachable, http, malformed, stalled, closedEarly = "closed_early"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
