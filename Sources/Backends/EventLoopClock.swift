import Dispatch
import NIOCore
import Synchronization

/// `ContinuousClock`'s time, with each sleep a callback on a NIO event loop's timer heap.
///
/// Every request races its deadlines (the stream's, the write watchdog's, the backend's
/// timeout) against work that usually wins, so nearly every sleep is cancelled. On Linux a
/// cancelled `Task.sleep` leaves its timer — a task and a dispatch source, about 600 bytes —
/// queued until the deadline would have passed: at 1,000 requests a second with 15 s deadlines
/// that is 15 MiB the worker's heap grows to and keeps (bench/footprint.py). A cancelled sleep
/// here removes its callback at once, and costs no dispatch source.
///
/// Without an event loop (in-process tests and fuzzing drive NIO's testing loops, whose time
/// moves only by hand) it sleeps as `Task.sleep` does.
public struct EventLoopClock: Clock {
    public typealias Instant = ContinuousClock.Instant
    public let eventLoop: (any EventLoop)?
    /// Counts this clock's sleepers alive (tests: a cancelled sleep must not stay behind).
    let census: Census?

    public init(eventLoop: (any EventLoop)?) {
        self.init(eventLoop: eventLoop, census: nil)
    }

    init(eventLoop: (any EventLoop)?, census: Census?) {
        self.eventLoop = eventLoop
        self.census = census
    }

    final class Census: Sendable {
        let alive = Atomic(0)
    }

    public var now: Instant { ContinuousClock.now }
    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        guard let eventLoop else { return try await ContinuousClock().sleep(until: deadline, tolerance: tolerance) }
        try Task.checkCancellation()
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return }
        let sleeper = Sleeper(census: census)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // NIO clamps a duration beyond Int64 nanoseconds (a deadline centuries away).
                sleeper.start(continuation, on: eventLoop, at: eventLoop.now + TimeAmount(remaining))
            }
        } onCancel: {
            sleeper.cancel()
        }
    }
}

/// One sleep: resumed exactly once, by its callback or by cancellation (which unschedules it).
private final class Sleeper: NIOScheduledCallbackHandler, Sendable {
    private enum State {
        case new
        case waiting(CheckedContinuation<Void, any Error>, NIOScheduledCallback)
        /// Ended before `start` stored its continuation (cancelled, or a deadline due at once).
        case cancelled
        case fired
        case done
    }
    private let state = Mutex(State.new)

    private let census: EventLoopClock.Census?

    init(census: EventLoopClock.Census?) {
        self.census = census
        census?.alive.add(1, ordering: .relaxed)
    }

    deinit { census?.alive.subtract(1, ordering: .relaxed) }

    func start(_ continuation: CheckedContinuation<Void, any Error>, on eventLoop: any EventLoop, at deadline: NIODeadline) {
        let callback: NIOScheduledCallback
        do {
            callback = try eventLoop.scheduleCallback(at: deadline, handler: self)
        } catch {
            // The event loop is shutting down: so is the process; end the wait as a cancellation.
            state.withLock { $0 = .done }
            continuation.resume(throwing: CancellationError())
            return
        }
        let early = state.withLock { state -> State? in
            guard case .new = state else {
                defer { state = .done }
                return state
            }
            state = .waiting(continuation, callback)
            return nil
        }
        switch early {
        case .cancelled?:
            callback.cancel()
            continuation.resume(throwing: CancellationError())
        case .fired?:
            continuation.resume()
        default:
            break
        }
    }

    func cancel() {
        let waiting = state.withLock { state -> (CheckedContinuation<Void, any Error>, NIOScheduledCallback)? in
            switch state {
            case .new:
                state = .cancelled
                return nil
            case .waiting(let continuation, let callback):
                state = .done
                return (continuation, callback)
            case .cancelled, .fired, .done:
                return nil
            }
        }
        guard let (continuation, callback) = waiting else { return }
        callback.cancel()
        continuation.resume(throwing: CancellationError())
    }

    /// The event loop dropped the callback (it is shutting down): the sleep ends as cancelled.
    /// Called under the loop's task lock, so the resume goes through a dispatch queue: resumed
    /// here, a task preferring that loop would enqueue onto it under the same lock.
    func didCancelScheduledCallback(eventLoop: some EventLoop) {
        guard let continuation = end(before: .cancelled) else { return }
        DispatchQueue.global().async { continuation.resume(throwing: CancellationError()) }
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        end(before: .fired)?.resume()
    }

    /// The waiting continuation, taken once; `early` is noted when the end comes before `start`.
    private func end(before early: State) -> CheckedContinuation<Void, any Error>? {
        state.withLock { state in
            switch state {
            case .waiting(let continuation, _):
                state = .done
                return continuation
            case .new:
                state = early
                return nil
            case .cancelled, .fired, .done:
                return nil
            }
        }
    }
}
