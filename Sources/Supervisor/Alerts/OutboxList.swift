import Synchronization

/// Every webhook queue an `AlertMonitor` made, to know when all have drained.
final class OutboxList: Sendable {
    private let outboxes = Mutex<[WebhookOutbox]>([])

    func append(_ outbox: WebhookOutbox) {
        outboxes.withLock { $0.append(outbox) }
    }

    var done: Bool { outboxes.withLock { $0.allSatisfy(\.counts.done) } }
}
