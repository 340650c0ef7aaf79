/// One chunk of the streamed answer: `items` backend items joined into `text`.
public struct Batch: Sendable, Equatable {
    /// 0-based position in the response.
    public var sequence: Int
    public var text: String
    public var items: Int
    /// The remainder sent when generation finished before the deadline.
    public var isFinal: Bool

    public init(sequence: Int, text: String, items: Int, isFinal: Bool) {
        self.sequence = sequence
        self.text = text
        self.items = items
        self.isFinal = isFinal
    }
}

/// An error a generator throws because of the request it was given, which says nothing about
/// whether the next request will fail: it ends the stream, but `stop_on_forward_exception` must
/// not stop a miner over it (anyone who may send a request could stop the miner at will).
public protocol RequestSpecificFailure: Error {
    var isRequestSpecific: Bool { get }
}

/// How generation ended, as the engine saw it.
public enum StreamEnd: Sendable, Equatable {
    /// The backend finished before the deadline; the remainder went out as the final batch.
    case finished
    /// The deadline passed; the unsent remainder was dropped.
    case timedOut
    /// The backend threw; what was not yet sent was dropped, as in the subnet's template.
    case failed(String)
    /// The worker stopped the stream (its shutdown grace period was over); the remainder was
    /// dropped, as on a timeout.
    case stopped
    /// The request was cancelled from outside (the client went away).
    case cancelled
}

/// What the engine did with one request's items.
public struct StreamSummary: Sendable, Equatable {
    public var end: StreamEnd
    public var itemsGenerated: Int
    public var itemsSent: Int
    public var batches: Int

    /// From the start of the stream to the backend's first item.
    public var firstItemDelay: Duration?
    /// From the first item to the last.
    public var generationTime: Duration?

    /// The failure came from this request itself (the backend refused it, e.g. a prompt over
    /// the model's context), not from the backend's health.
    public var failureIsRequestSpecific = false

    public var itemsUnsent: Int { itemsGenerated - itemsSent }

    /// Items per second between the first item and the last; nil below two items.
    public var itemsPerSecond: Double? {
        guard itemsGenerated > 1, let time = generationTime, time > .zero else { return nil }
        let (seconds, attoseconds) = time.components
        return Double(itemsGenerated - 1) / (Double(seconds) + Double(attoseconds) / 1e18)
    }

    public init(end: StreamEnd, itemsGenerated: Int, itemsSent: Int, batches: Int) {
        self.end = end
        self.itemsGenerated = itemsGenerated
        self.itemsSent = itemsSent
        self.batches = batches
    }
}
