/// How a simulated validator loads a miner. Every run is bounded: by `requests` and by `maxDuration`.
public struct LoadProfile: Sendable, Equatable {
    public var requests = 20
    /// Requests in flight at most.
    public var concurrency = 1
    /// Requests started per second at most; nil: as fast as concurrency allows.
    public var rate: Double?
    /// The validator's budget per request, seconds (17 as the einstein validator, 10 as SN1).
    public var timeout = 17.0
    /// How many validator hotkeys take turns signing.
    public var validators = 1
    public var questions = QuestionMix.arithmetic(.einstein)
    /// No request starts after this many seconds.
    public var maxDuration = 600.0

    public init() {}

    public var json: String {
        let rate = self.rate.map { String($0) } ?? "null"
        return """
            {"requests": \(requests), "concurrency": \(concurrency), "rate": \(rate), "timeout": \(timeout), \
            "validators": \(validators), "questions": \(DendriteRequest.json(questions.description)), "max_duration": \(maxDuration)}
            """
    }
}

/// A miner to send to.
public struct Target: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var hotkey: String

    public init(host: String, port: Int, hotkey: String) {
        self.host = host
        self.port = port
        self.hotkey = hotkey
    }
}
