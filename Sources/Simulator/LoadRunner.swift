import Foundation

/// Drives one miner with a load profile and collects what each simulated validator got.
public struct LoadRunner: Sendable {
    public let client: ValidatorClient
    public let profile: LoadProfile
    public let validators: [SimulatedValidator]

    public init(client: ValidatorClient, profile: LoadProfile) {
        self.client = client
        self.profile = profile
        validators = SimulatedValidator.numbered(profile.validators)
    }

    /// Runs the load; `onResult` sees each result as it completes (for progress). Results come
    /// back in the order the requests were sent.
    public func run(
        _ target: Target, onResult: @escaping @Sendable (ValidatorResult, _ done: Int) -> Void = { _, _ in }
    ) async -> [ValidatorResult] {
        let started = ContinuousClock.now
        let stopStarting = started + .milliseconds(Int64(profile.maxDuration * 1000))
        return await withTaskGroup(of: (Int, ValidatorResult).self) { group in
            var results: [(Int, ValidatorResult)] = []
            var inFlight = 0
            func collect() async {
                guard let result = await group.next() else { return }
                inFlight -= 1
                results.append(result)
                onResult(result.1, results.count)
            }
            for index in 0..<profile.requests {
                if let rate = profile.rate, rate > 0 {
                    try? await Task.sleep(until: started + .milliseconds(Int64(Double(index) / rate * 1000)))
                }
                if ContinuousClock.now >= stopStarting || Task.isCancelled { break }
                while inFlight >= profile.concurrency { await collect() }
                inFlight += 1
                group.addTask { [client, profile, validators] in
                    let question = profile.questions.question(index)
                    let validator = validators[index % validators.count]
                    // Its own uuid per request: a dendrite's nonces must arrive in order, which
                    // concurrent requests of one session do not guarantee.
                    let request = DendriteRequest(
                        messages: [question.message], timeout: profile.timeout, axonHost: target.host,
                        axonPort: target.port, axonHotkey: target.hotkey, uuid: UUID().uuidString.lowercased(),
                        nonce: Int64(Date().timeIntervalSince1970 * 1e9)
                    )
                    return (index, await client.send(request, as: validator, reference: question.reference))
                }
            }
            while inFlight > 0 { await collect() }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
