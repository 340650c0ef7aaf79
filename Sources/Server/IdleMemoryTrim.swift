import CMalloc
import ServiceLifecycle
import Synchronization

/// Gives the heap's free pages back to the kernel once a burst of requests is over.
///
/// glibc keeps what a burst freed inside its arenas (one per thread that allocated), so a worker
/// stays at its peak until the next burst. `malloc_trim` returns the free whole pages, holding
/// each arena's lock meanwhile and making the next allocations fault pages in again: it runs
/// once per burst, when no stream has run for `quiet`. Parked in between: an idle worker never
/// wakes up, and a long stream is never interrupted by a trim.
final class IdleMemoryTrim: Service, Sendable {
    private struct State {
        var streams = 0
        /// Counts starts and ends.
        var activity = 0
        /// The loop, parked until the activity count changes.
        var waiter: CheckedContinuation<Void, Never>?
        var stopping = false

        mutating func note(_ change: Int) {
            streams += change
            activity &+= 1
            waiter?.resume()
            waiter = nil
        }
    }
    private let state = Mutex(State())
    let quiet: Duration
    let clock: any Clock<Duration>
    private let trim: @Sendable () -> Void

    init(quiet: Duration = .seconds(2), clock: any Clock<Duration> = ContinuousClock(), trim: @escaping @Sendable () -> Void = IdleMemoryTrim.mallocTrim) {
        self.quiet = quiet
        self.clock = clock
        self.trim = trim
    }

    func streamStarted() { state.withLock { $0.note(+1) } }
    func streamEnded() { state.withLock { $0.note(-1) } }

    func run() async {
        // A graceful stop cancels the loop (its sleep too): that is its normal end.
        try? await cancelWhenGracefulShutdown { [self] in
            var seen = 0
            while true {
                try await waitForActivity(after: seen)
                let (activity, streams) = state.withLock { ($0.activity, $0.streams) }
                seen = activity
                if streams > 0 { continue }  // parked until one ends
                try await clock.sleep(for: quiet)
                if state.withLock({ $0.activity == seen && $0.streams == 0 }) { trim() }
            }
        }
    }

    /// Returns once the activity count differs from `after` (at once if it does); throws
    /// CancellationError when the loop is to end.
    private func waitForActivity(after: Int) async throws {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                state.withLock { state in
                    if state.activity != after || state.stopping {
                        continuation.resume()
                    } else {
                        state.waiter = continuation
                    }
                }
            }
        } onCancel: {
            state.withLock { state in
                state.stopping = true
                state.waiter?.resume()
                state.waiter = nil
            }
        }
        try Task.checkCancellation()
    }

    @Sendable static func mallocTrim() {
        _ = malloc_control_trim()
    }
}
