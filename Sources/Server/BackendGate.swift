import Backends
import Logging
import ServiceLifecycle
import Synchronization
import Wire

/// Whether the services behind this worker's backend are ready, as the supervisor reports them
/// (`--backend-gate`). While they are not, every request is refused at once with 503
/// `backend_not_ready` and the reason, instead of waiting for a model server that is loading,
/// dead or restarting until the validator's timeout.
///
/// A worker started with the gate is closed until the supervisor's first report. With
/// `warmup: true`, the first opening waits for the warm-up request.
final class BackendGate: Service, Sendable {
    enum Report: Sendable, Equatable {
        case ready
        case notReady(String)
    }

    private let state: Mutex<String?>
    private let reports: AsyncStream<Report>
    private let sink: AsyncStream<Report>.Continuation
    private let server: BackendServer?
    private let logger: Logger

    /// - Parameter server: warmed up before the first opening, when it has `warmup` set.
    init(server: BackendServer?, logger: Logger) {
        state = Mutex("waiting for the supervisor to report its services")
        (reports, sink) = AsyncStream.makeStream()
        self.server = server
        self.logger = logger
    }

    /// A report from the supervisor's pipe.
    func report(_ report: Report) {
        sink.yield(report)
    }

    /// Nil while the backend is ready; else the refusal to answer with. The gate is checked
    /// before a request's signature: the message says nothing of the servers (their names,
    /// GPUs, answers); the supervisor's reason is in the worker's log and in `miners status`.
    var refusal: Rejection? {
        state.withLock { $0 == nil } ? nil : Self.refusal
    }

    static let refusal = Rejection(status: 503, reason: "backend_not_ready", message: "Service unavailable: the miner's model server is not ready")

    /// Why the gate is closed, for tests and the log; nil while open.
    var reason: String? { state.withLock { $0 } }

    func run() async throws {
        await cancelOnGracefulShutdown { [self] in
            var warmed = server?.config.warmup != true
            for await report in reports {
                switch report {
                case .notReady(let reason):
                    let changed = state.withLock { current in
                        defer { current = reason }
                        return current == nil
                    }
                    if changed { logger.warning("backend not ready: \(reason); refusing requests with 503 until it is") }
                case .ready:
                    if !warmed, let server {
                        warmed = await Worker.warmUp(server, logger: logger)
                        guard warmed else { return }
                    }
                    let changed = state.withLock { current in
                        defer { current = nil }
                        return current != nil
                    }
                    if changed { logger.notice("backend ready: serving requests") }
                }
            }
        }
    }
}
