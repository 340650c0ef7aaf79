import LogStore

/// The figures of a set of validator results: what a validator would make of a configuration.
public struct SimulationSummary: Sendable, Equatable, Encodable {
    public var requests: Int
    public var statuses: [String: Int]
    public var complete: Int
    public var partial: Int
    public var empty: Int
    public var wallSeconds: Double
    public var requestsPerSecond: Double
    public var latencyP50: Double?
    public var latencyP99: Double?
    public var firstChunkP50: Double?
    public var firstChunkP99: Double?
    /// Mean reward over the requests with a known reference (0 for those that failed).
    public var meanReward: Double?
    public var finalAnswerRate: Double
    public var oversizeChunks: Int
    public var meanChunks: Double

    public init(_ results: [ValidatorResult], wallSeconds: Double) {
        requests = results.count
        statuses = Dictionary(grouping: results, by: { String($0.status) }).mapValues(\.count)
        complete = results.count { $0.kind == .complete }
        partial = results.count { $0.kind == .partial }
        empty = results.count { $0.kind == .empty }
        self.wallSeconds = wallSeconds
        requestsPerSecond = wallSeconds > 0 ? Double(results.count) / wallSeconds : 0
        let latencies = results.map(\.total).sorted()
        let firstChunks = results.compactMap(\.firstChunk).sorted()
        latencyP50 = latencies.nearestRank(0.50)
        latencyP99 = latencies.nearestRank(0.99)
        firstChunkP50 = firstChunks.nearestRank(0.50)
        firstChunkP99 = firstChunks.nearestRank(0.99)
        let rewards = results.compactMap(\.reward)
        meanReward = rewards.isEmpty ? nil : rewards.reduce(0, +) / Double(rewards.count)
        finalAnswerRate = results.isEmpty ? 0 : Double(results.count(where: \.finalAnswerArrived)) / Double(results.count)
        oversizeChunks = results.reduce(0) { $0 + $1.oversizeChunks }
        meanChunks = results.isEmpty ? 0 : Double(results.reduce(0) { $0 + $1.chunks.count }) / Double(results.count)
    }

    enum CodingKeys: String, CodingKey {
        case requests, statuses, complete, partial, empty
        case wallSeconds = "wall_s", requestsPerSecond = "requests_per_s", latency = "latency_s"
        case firstChunk = "first_chunk_s", meanReward = "mean_reward", finalAnswerRate = "final_answer_rate"
        case oversizeChunks = "oversize_chunks", meanChunks = "mean_chunks"
    }

    /// `latency_s` and `first_chunk_s` as `{"p50": ..., "p99": ...}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requests, forKey: .requests)
        try container.encode(statuses, forKey: .statuses)
        try container.encode(complete, forKey: .complete)
        try container.encode(partial, forKey: .partial)
        try container.encode(empty, forKey: .empty)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(requestsPerSecond, forKey: .requestsPerSecond)
        try container.encode(["p50": latencyP50, "p99": latencyP99], forKey: .latency)
        try container.encode(["p50": firstChunkP50, "p99": firstChunkP99], forKey: .firstChunk)
        try container.encode(meanReward, forKey: .meanReward)
        try container.encode(finalAnswerRate, forKey: .finalAnswerRate)
        try container.encode(oversizeChunks, forKey: .oversizeChunks)
        try container.encode(meanChunks, forKey: .meanChunks)
    }
}
