/// What a validator ends up with for one request, as bittensor's dendrite would report it.
public struct ValidatorResult: Sendable, Equatable {
    public struct Chunk: Sendable, Equatable {
        /// Seconds from sending the request to this read.
        public var offset: Double
        public var bytes: Int
    }

    public var validator: String
    public var uuid: String
    public var nonce: Int64
    /// The validator's total budget (connect + whole body), seconds.
    public var timeout: Double
    /// Unix seconds.
    public var sentAt: Double
    /// 200, or the dendrite's code for what went wrong: 408 its own timeout, 400 a stream cut
    /// before its end, 422 an unreadable response, 503 no connection, or the axon's refusal.
    public var status: Int
    public var statusMessage: String?
    public var chunks: [Chunk]
    public var completion: String {
        didSet { scoreAnswer() }
    }
    public var total: Double
    /// Reads with more words than the size limit (SN1 penalises chunks over 200 tokens).
    public var oversizeChunks: Int
    public var reference: Double? {
        didSet { scoreAnswer() }
    }
    /// `the final answer is:` arrived (computed once: figures read it many times).
    public private(set) var finalAnswerArrived = false
    /// The answer's `math_score` against the reference, whatever its status.
    private var answerScore: Double?

    public init(
        validator: String, uuid: String, nonce: Int64, timeout: Double, sentAt: Double, status: Int,
        statusMessage: String?, chunks: [Chunk], completion: String, total: Double, oversizeChunks: Int, reference: Double?
    ) {
        self.validator = validator
        self.uuid = uuid
        self.nonce = nonce
        self.timeout = timeout
        self.sentAt = sentAt
        self.status = status
        self.statusMessage = statusMessage
        self.chunks = chunks
        self.completion = completion
        self.total = total
        self.oversizeChunks = oversizeChunks
        self.reference = reference
        scoreAnswer()
    }

    private mutating func scoreAnswer() {
        finalAnswerArrived = FinalAnswer.arrived(in: completion)
        answerScore = reference.map { MathScore.score(reference: MathScore.referenceText($0), completion: completion) }
    }

    public var firstChunk: Double? { chunks.first?.offset }
    public var bytes: Int { chunks.reduce(0) { $0 + $1.bytes } }

    /// The subnet's reward for the answer: nil without a reference; 0 for an empty answer.
    /// Validators score whatever arrived, on a 200 or on their own timeout (408).
    public var reward: Double? {
        guard let answerScore else { return nil }
        guard status == 200 || status == 408, !completion.isEmpty else { return 0 }
        return answerScore
    }

    public enum Kind: String, Sendable, CaseIterable {
        /// The final answer arrived.
        case complete
        /// Something arrived, but not the final answer.
        case partial
        /// Nothing arrived.
        case empty
    }

    public var kind: Kind {
        if completion.isEmpty { return .empty }
        return finalAnswerArrived ? .complete : .partial
    }
}
