import Foundation
import Logging
import ServiceLifecycle
import Streaming
import Synchronization
import UnixSignals

/// How a worker is told to stop, and what it does about it: the first order starts the
/// group's graceful shutdown (no new requests; open streams may finish within the grace), and
/// when the grace is over `drain` ends the streams still open as on a timeout.
///
/// - SIGTERM/SIGINT: a graceful stop. Run by hand, a second signal ends the streams at once.
///   Supervised, every SIGTERM is the same order: systemd (`KillMode=control-group`) and pm2
///   signal the whole tree, and a worker must not take its supervisor's copy as a second one.
/// - The supervisor's pipe (standard input, supervised only): a line `stop` is a graceful stop;
///   end-of-file means the supervisor is gone, and open streams get `orphanGracePeriod`.
/// - A backend failure under `stop_on_forward_exception`.
final class StopOrders: Service, Sendable {
    enum Order: Sendable {
        case signal(UnixSignal)
        case supervisorStop
        case supervisorGone
        case forwardException(String)
    }

    /// Fired when the grace period is over: the streams still open end as on a timeout.
    let drain = StopSignal()
    let gracePeriod: Duration
    let orphanGracePeriod: Duration
    let supervised: Bool
    /// Times the grace periods (injected: tests move it by hand).
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let orders: AsyncStream<Order>
    private let sink: AsyncStream<Order>.Continuation
    private struct State {
        var group: ServiceGroup?
        var stopping = false
        var forwardException: String?
    }
    private let state = Mutex(State())
    /// Whether to take orders from the process's signals and standard input; tests give
    /// every order through `order(_:)` instead.
    private let listens: Bool
    /// Where the supervisor's `ready` and `not_ready` lines go, for a worker with a backend gate.
    private let gate: BackendGate?

    init(
        gracePeriod: Duration, orphanGracePeriod: Duration, supervised: Bool, clock: any Clock<Duration> = ContinuousClock(),
        listens: Bool = true, gate: BackendGate? = nil, logger: Logger
    ) {
        self.listens = listens
        self.gate = gate
        self.gracePeriod = gracePeriod
        self.orphanGracePeriod = orphanGracePeriod
        self.supervised = supervised
        self.clock = clock
        self.logger = logger
        (orders, sink) = AsyncStream.makeStream()
    }

    /// The group whose graceful shutdown the first order starts.
    func attach(_ group: ServiceGroup) {
        state.withLock { $0.group = group }
    }

    /// The backend failure that stopped the worker, if one did.
    var forwardException: String? { state.withLock { $0.forwardException } }

    /// Gives an order from outside the service (the responder's backend failure).
    func order(_ order: Order) {
        sink.yield(order)
    }

    func run() async throws {
        if supervised, listens { SupervisorPipe.watch(sink, gate: gate) }
        // Ends when the group shuts down gracefully: this service is the first in the group,
        // so the last to be told, once the server and the logs have finished.
        await cancelOnGracefulShutdown { [self] in
            await withDiscardingTaskGroup { tasks in
                if listens {
                    tasks.addTask { [sink] in
                        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) { sink.yield(.signal(signal)) }
                    }
                }
                for await order in orders {
                    guard let grace = await take(order) else { continue }
                    tasks.addTask { [drain, clock] in
                        guard (try? await clock.sleep(for: grace)) != nil else { return }
                        drain.fire()
                    }
                }
            }
        }
    }

    /// Starts the stop on the first order; returns the grace after which to drain, or nil
    /// when the order changes nothing.
    private func take(_ order: Order) async -> Duration? {
        let (first, group) = state.withLock { state in
            if case .forwardException(let error) = order, state.forwardException == nil { state.forwardException = error }
            defer { state.stopping = true }
            return (!state.stopping, state.group)
        }
        let reason: String
        var grace = gracePeriod
        switch order {
        case .signal(let signal):
            reason = "received \(signal)"
            if !first {
                if supervised { return nil }  // the tree's copy of the same stop
                logger.warning("\(reason) again: ending the open streams now")
                return .zero
            }
        case .supervisorStop:
            reason = "the supervisor asked"
            if !first { return nil }
        case .supervisorGone:
            reason = "the supervisor is gone"
            grace = orphanGracePeriod
            if !first { logger.notice("the supervisor is gone: open streams may finish for up to \(grace)") }
        case .forwardException:
            reason = "backend failure with stop_on_forward_exception"
            if !first { return nil }
        }
        if first {
            logger.notice("stopping (\(reason)): no new requests; open streams may finish for up to \(grace)")
            await group?.triggerGracefulShutdown()
        }
        return grace
    }
}

/// Reads the supervisor's pipe (standard input) on a thread of its own: a blocking read must not
/// hold one of the few cooperative threads. Lines `stop` are orders; `ready` and `not_ready
/// REASON` report the backend's services; end-of-file means the supervisor has died (the kernel
/// closes its end, even after SIGKILL).
enum SupervisorPipe {
    /// Longer lines are cut: the supervisor's reasons are shorter.
    static let maxLine = 512

    static func watch(_ sink: AsyncStream<StopOrders.Order>.Continuation, gate: BackendGate?) {
        let thread = Thread {
            var line: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count == 0 || (count < 0 && errno != EINTR) { break }
                guard count > 0 else { continue }
                for byte in buffer[0..<count] {
                    if byte == UInt8(ascii: "\n") {
                        if line == Array("stop".utf8) {
                            sink.yield(.supervisorStop)
                        } else if let report = gateReport(line) {
                            gate?.report(report)
                        }
                        line.removeAll(keepingCapacity: true)
                    } else if line.count < maxLine {
                        line.append(byte)
                    }
                }
            }
            sink.yield(.supervisorGone)
        }
        thread.name = "supervisor-pipe"
        thread.start()
    }

    /// `ready`, or `not_ready REASON`.
    static func gateReport(_ line: [UInt8]) -> BackendGate.Report? {
        if line == Array("ready".utf8) { return .ready }
        let prefix = Array("not_ready ".utf8)
        guard line.starts(with: prefix) else { return nil }
        return .notReady(String(decoding: line.dropFirst(prefix.count), as: UTF8.self))
    }
}
