import Synchronization

/// What a backend learns about a generation besides its items: token usage, when the server
/// reports it (OpenAI's `usage` chunk, TGI's final `details`).
public final class GenerationReport: Sendable {
    private let usage = Mutex<(prompt: Int?, completion: Int?)>((nil, nil))

    public init() {}

    public func recordUsage(prompt: Int?, completion: Int?) {
        usage.withLock { $0 = (prompt ?? $0.prompt, completion ?? $0.completion) }
    }

    public var promptTokens: Int? { usage.withLock { $0.prompt } }
    public var completionTokens: Int? { usage.withLock { $0.completion } }
}
