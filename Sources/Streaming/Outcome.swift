/// The outcome of one request as the log records it.
public enum Outcome: String, Sendable, CaseIterable {
    /// Generation finished in time and every batch reached the client.
    case complete
    /// At least one batch went out, then the deadline stopped the stream.
    case partialTimeout = "partial_timeout"
    /// The deadline passed before the first batch.
    case emptyTimeout = "empty_timeout"
    /// Generation finished without producing any text.
    case empty
    /// The backend failed.
    case streamError = "stream_error"
    /// The client went away before the answer ended.
    case clientDisconnect = "client_disconnect"
    /// Refused before streaming (bad route, headers, body, hash).
    case rejected

    /// The outcome of a stream the engine ran, given how many batches reached the wire and
    /// whether the client was still there at the end.
    public static func of(_ end: StreamEnd, batchesWritten: Int, clientGone: Bool) -> Outcome {
        if clientGone { return .clientDisconnect }
        switch end {
        case .finished: return batchesWritten > 0 ? .complete : .empty
        case .timedOut, .stopped: return batchesWritten > 0 ? .partialTimeout : .emptyTimeout
        case .failed: return .streamError
        case .cancelled: return .clientDisconnect
        }
    }
}
