/// A limit on concurrent streams per worker. Above it, requests wait in a queue served by the
/// caller's stake (highest first); a full queue or a wait past the request's deadline is a 503.
public actor CapacityGate {
    public let maxConcurrent: Int
    public let maxQueued: Int
    private var active = 0
    private var waiters: [Waiter] = []
    private var nextID = 0

    private struct Waiter {
        var id: Int
        var priority: Double
        var continuation: CheckedContinuation<Bool, Never>
    }

    public enum Refusal: Error, Equatable {
        case queueFull
        case waitedPastDeadline
    }

    public init(maxConcurrent: Int, maxQueued: Int) {
        self.maxConcurrent = maxConcurrent
        self.maxQueued = maxQueued
    }

    public var load: (active: Int, queued: Int) { (active, waiters.count) }

    /// Takes a slot, waiting for one if needed. Every success must be paired with `leave()`.
    public func enter(priority: Double, deadline: ContinuousClock.Instant) async throws(Refusal) {
        if active < maxConcurrent {
            active += 1
            return
        }
        guard waiters.count < maxQueued else { throw .queueFull }
        let id = nextID
        nextID += 1
        let timer = Task { [weak self] in
            do {
                try await ContinuousClock().sleep(until: deadline)
                await self?.expire(id)
            } catch {}
        }
        let admitted = await withCheckedContinuation { continuation in
            waiters.append(Waiter(id: id, priority: priority, continuation: continuation))
        }
        timer.cancel()
        if !admitted { throw .waitedPastDeadline }
    }

    /// Frees a slot: the waiting request with the highest priority takes it.
    public func leave() {
        if let best = waiters.indices.max(by: { waiters[$0].priority < waiters[$1].priority }) {
            waiters.remove(at: best).continuation.resume(returning: true)  // the slot passes on
        } else {
            active -= 1
        }
    }

    private func expire(_ id: Int) {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            waiters.remove(at: index).continuation.resume(returning: false)
        }
    }
}
