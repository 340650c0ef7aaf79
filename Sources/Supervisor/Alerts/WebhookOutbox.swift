import Config
import Logging
import Synchronization

/// One webhook's queue. The monitor offers messages and never waits: the rate limit is
/// applied on the way in, and the queue holds at most `capacity` messages, dropping the oldest
/// (counted) when full. `run` posts them one after another, with the sender's retries, in a
/// task of its own: a dead webhook holds up nothing else.
public final class WebhookOutbox: Sendable {
    public let webhook: WebhookConfig
    public let ratePerHour: Int
    private let messages: AsyncStream<AlertMessage>
    private let queue: AsyncStream<AlertMessage>.Continuation
    private let state: Mutex<State>

    public struct Counts: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        /// Dropped from a full queue.
        public var dropped = 0
        /// `run` has ended.
        public var done = false
    }

    private struct State {
        var limit: RateLimit
        var counts = Counts()
    }

    public init(webhook: WebhookConfig, ratePerHour: Int, capacity: Int = 64) {
        self.webhook = webhook
        self.ratePerHour = ratePerHour
        (messages, queue) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        state = Mutex(State(limit: RateLimit(perHour: ratePerHour)))
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// Queues a message if the rate limit lets it through; else counts it for the summary.
    public func offer(_ message: AlertMessage) {
        guard state.withLock({ $0.limit.admit(message.alert.kind, now: message.at) }) else { return }
        enqueue(message)
    }

    /// Queues the summary of what the rate limit held back, once it has room.
    public func offerSummary(now: Double, host: String) {
        if let summary = state.withLock({ $0.limit.summary(now: now, host: host) }) { enqueue(summary) }
    }

    private func enqueue(_ message: AlertMessage) {
        if case .dropped = queue.yield(message) { state.withLock { $0.counts.dropped += 1 } }
    }

    /// No more messages: `run` ends once the queue is empty.
    public func finish() {
        queue.finish()
    }

    public func run(sender: WebhookSender, logger: Logger) async {
        var dropped = 0
        for await message in messages {
            let outcome = await sender.send(message, to: webhook)
            let now = state.withLock { state in
                if case .delivered = outcome { state.counts.delivered += 1 } else { state.counts.failed += 1 }
                return state.counts.dropped
            }
            if case .failed(let problem, let tries) = outcome {
                logger.error("alerts: webhook \(webhook) did not take \"\(message.text.prefix(120))\" (\(tries) tries): \(problem)")
            }
            if now > dropped {
                logger.warning("alerts: webhook \(webhook): \(now - dropped) messages dropped from its full queue")
                dropped = now
            }
        }
        state.withLock { $0.counts.done = true }
    }
}
