/// Everything the log keeps about one request, written as one unit when the request ends.
public struct RequestRecord: Sendable, Equatable {
    /// The values of `outcome`, in the order tables show them (the schema's CHECK).
    public static let outcomes = ["complete", "partial_timeout", "empty_timeout", "empty", "stream_error", "client_disconnect", "rejected"]

    public var worker: String
    public var minerHotkey: String
    public var synapse: String
    public var backend: String
    public var batchSize: Int
    /// The validator's hotkey once its signature verified; nil before.
    public var validatorHotkey: String?
    /// The hotkey a refused, unauthenticated request named: a claim, not an identity.
    public var claimedHotkey: String?
    public var dendriteIP: String?
    public var dendriteVersion: Int?
    public var uuid: String?
    public var nonce: Int64?
    /// Seconds the worker allowed the stream.
    public var timeout: Double?
    /// Unix seconds.
    public var receivedAt: Double
    public var firstBatchAt: Double?
    public var finishedAt: Double
    /// `Outcome.rawValue`.
    public var outcome: String
    public var status: Int
    public var reason: String?
    /// A refusal's message, as the client received it.
    public var detail: String?
    /// Seconds spent waiting for a stream slot.
    public var queueWait: Double?
    /// Seconds from the stream's start to the backend's first item.
    public var backendFirstItem: Double?
    public var backendItemsPerSecond: Double?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Pieces of a reasoning model's thinking, streamed or not, and the seconds from the
    /// first to the last.
    public var reasoningItems = 0
    public var reasoningSeconds: Double?
    public var itemsSent = 0
    public var bytesSent = 0
    public var itemsGenerated = 0
    public var finalAnswerSent = false
    public var batches: [BatchRecord] = []
    public var timeoutEvent: TimeoutRecord?
    /// Identical refusals this row stands for (unauthenticated refusals are aggregated per
    /// source address, reason and second); 1 for everything else.
    public var count = 1

    /// The longest refusal message kept.
    public static let maxDetail = 300
    /// A client's text as the log keeps it: at most `limit` characters, marked when cut, its
    /// control characters shown as `?` (the log reaches terminals, log files and reports).
    public static func bounded(_ text: String, to limit: Int = 96) -> String {
        let head = text.prefix(limit + 1)
        return PrintableText.line(head.count <= limit ? String(head) : String(head.prefix(limit)) + "…")
    }

    public var itemsUnsent: Int { itemsGenerated - itemsSent }

    public init(
        worker: String, minerHotkey: String, synapse: String, backend: String, batchSize: Int,
        receivedAt: Double, finishedAt: Double, outcome: String, status: Int
    ) {
        self.worker = worker
        self.minerHotkey = minerHotkey
        self.synapse = synapse
        self.backend = backend
        self.batchSize = batchSize
        self.receivedAt = receivedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.status = status
    }
}

/// One batch that reached the socket.
public struct BatchRecord: Sendable, Equatable {
    public var sequence: Int
    /// Seconds after the request was received.
    public var offset: Double
    public var items: Int
    public var bytes: Int
    public var isFinal: Bool

    public init(sequence: Int, offset: Double, items: Int, bytes: Int, isFinal: Bool) {
        self.sequence = sequence
        self.offset = offset
        self.items = items
        self.bytes = bytes
        self.isFinal = isFinal
    }
}

/// The worker's deadline stopping a stream.
public struct TimeoutRecord: Sendable, Equatable {
    /// Unix seconds.
    public var at: Double
    public var limit: Double
    public var elapsed: Double
    public var batchesSent: Int
    public var itemsDropped: Int

    public init(at: Double, limit: Double, elapsed: Double, batchesSent: Int, itemsDropped: Int) {
        self.at = at
        self.limit = limit
        self.elapsed = elapsed
        self.batchesSent = batchesSent
        self.itemsDropped = itemsDropped
    }
}

/// Log rows dropped while the database could not be written, reported once it could again.
public struct LossRecord: Sendable, Equatable {
    public var at: Double
    public var worker: String?
    public var lost: Int
    /// When writing started failing.
    public var since: Double?
    public var error: String?
}
