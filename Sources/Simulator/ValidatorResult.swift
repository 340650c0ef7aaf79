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
    public var completion: String
    public var total: Double
    /// Reads with more words than the size limit (SN1 penalises chunks over 200 tokens).
    public var oversizeChunks: Int
    public var reference: Double?

    public var firstChunk: Double? { chunks.first?.offset }
    public var bytes: Int { chunks.reduce(0) { $0 + $1.bytes } }
    public var finalAnswerArrived: Bool { FinalAnswer.arrived(in: completion) }

    /// The subnet's reward for the answer: nil without a reference; 0 for an empty answer.
    /// Validators score whatever arrived, on a 200 or on their own timeout (408).
    public var reward: Double? {
        guard let reference else { return nil }
        guard status == 200 || status == 408, !completion.isEmpty else { return 0 }
        return FloatDiffReward.score(reference: reference, completion: completion)
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
