import Synchronization

/// What a backend learns about a generation besides its items: token usage, when the server
/// reports it (OpenAI's `usage` chunk, TGI's final `details`), and a reasoning model's
/// thinking — how many pieces and for how long — which the answer's items do not show.
public final class GenerationReport: Sendable {
    private struct State {
        var prompt: Int?
        var completion: Int?
        var reasoningItems = 0
        var reasoningStart: ContinuousClock.Instant?
        var reasoningEnd: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init() {}

    public func recordUsage(prompt: Int?, completion: Int?) {
        state.withLock {
            $0.prompt = prompt ?? $0.prompt
            $0.completion = completion ?? $0.completion
        }
    }

    /// One piece of thinking arrived.
    public func recordReasoning(at now: ContinuousClock.Instant = .now) {
        state.withLock {
            $0.reasoningItems += 1
            if $0.reasoningStart == nil { $0.reasoningStart = now }
            $0.reasoningEnd = now
        }
    }

    public var promptTokens: Int? { state.withLock { $0.prompt } }
    public var completionTokens: Int? { state.withLock { $0.completion } }
    public var reasoningItems: Int { state.withLock { $0.reasoningItems } }
    /// From the first piece of thinking to the last; nil when the model did not think.
    public var reasoningTime: Duration? {
        state.withLock { state in state.reasoningStart.flatMap { start in state.reasoningEnd.map { start.duration(to: $0) } } }
    }
}
