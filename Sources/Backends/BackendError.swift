import Streaming

/// A backend fault, worded for the log: the stream ends with what was sent and the request is
/// logged as `stream_error` with this as its reason.
public struct BackendError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unreachable, http, malformed, stalled, closedEarly = "closed_early"
    }

    public var kind: Kind
    public var message: String
    /// The HTTP status the backend answered, when it answered one.
    public var status: Int?

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

extension BackendError: RequestSpecificFailure {
    /// 400, 413 and 422: the server refused this request (a prompt over its context, a body too
    /// large, a field it rejects). Not 401/403/404 (a key or a model the operator set wrong) nor
    /// 429/5xx (the server itself): those say the next request fails too.
    public var isRequestSpecific: Bool { [400, 413, 422].contains(status ?? 0) }
}
