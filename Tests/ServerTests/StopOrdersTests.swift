import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing
import UnixSignals
@testable import Server

/// The worker's stop orders with an injected clock: when the graceful stop starts, and when the
/// streams still open are drained.
@Suite struct StopOrdersTests {
    /// Stands for the HTTP server: told to stop first, it ends when its streams are drained.
    final class Probe: Service, Sendable {
        let stopped = StopSignalBox()
        let drained: @Sendable () async -> Void
        init(drained: @escaping @Sendable () async -> Void) {
            self.drained = drained
        }
        func run() async throws {
            try? await gracefulShutdown()
            stopped.fire()
            await drained()
        }
    }

    final class StopSignalBox: Sendable {
        private let fired = Mutex(false)
        func fire() { fired.withLock { $0 = true } }
        var isFired: Bool { fired.withLock { $0 } }
    }

    /// Runs `orders` in a group with a probe; `body` gives orders and moves the clock.
    func withOrders(
        supervised: Bool, grace: Duration = .seconds(20), orphanGrace: Duration = .milliseconds(500),
        _ body: (StopOrders, ManualClock, Probe) async throws -> Void
    ) async throws {
        let clock = ManualClock()
        let logger = Logger(label: "test")
        let orders = StopOrders(
            gracePeriod: grace, orphanGracePeriod: orphanGrace, supervised: supervised, clock: clock, listens: false, logger: logger
        )
        let probe = Probe { await orders.drain.wait() }
        let group = ServiceGroup(configuration: .init(services: [orders, probe], logger: logger))
        orders.attach(group)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body(orders, clock, probe)
            orders.drain.fire()  // whatever the test left open
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func settle() async {
        for _ in 0..<50 { await Task.yield() }
        try? await Task.sleep(for: .milliseconds(20))
    }

    /// systemd's KillMode=control-group: the supervisor's `stop` and a SIGTERM of the worker's
    /// own arrive together. One stop, drained only when the whole grace is over.
    @Test func aTreeWideSigtermIsTheSameStopAsTheSupervisors() async throws {
        try await withOrders(supervised: true) { orders, clock, probe in
            orders.order(.supervisorStop)
            orders.order(.signal(.sigterm))
            orders.order(.signal(.sigterm))
            #expect(await clock.waitForSleepers(1))
            await settle()
            #expect(probe.stopped.isFired)  // the graceful stop started
            #expect(clock.sleeperCount == 1)  // one grace, not three
            clock.advance(by: .seconds(19))
            await settle()
            #expect(!orders.drain.isFired)
            clock.advance(by: .seconds(1))
            await settle()
            #expect(orders.drain.isFired)
        }
    }

    /// Run by hand, a second signal is the operator's "now".
    @Test func aSecondSignalToAWorkerRunByHandDrainsAtOnce() async throws {
        try await withOrders(supervised: false) { orders, clock, _ in
            orders.order(.signal(.sigterm))
            #expect(await clock.waitForSleepers(1))
            #expect(!orders.drain.isFired)
            orders.order(.signal(.sigint))
            await settle()
            #expect(orders.drain.isFired)
        }
    }

    /// The supervisor dies during a graceful stop: the open streams get the orphan's half
    /// second, not what is left of the grace.
    @Test func theSupervisorGoneShortensTheGrace() async throws {
        try await withOrders(supervised: true) { orders, clock, _ in
            orders.order(.supervisorStop)
            #expect(await clock.waitForSleepers(1))
            orders.order(.supervisorGone)
            #expect(await clock.waitForSleepers(2))
            clock.advance(by: .milliseconds(499))
            await settle()
            #expect(!orders.drain.isFired)
            clock.advance(by: .milliseconds(1))
            await settle()
            #expect(orders.drain.isFired)
        }
    }

    @Test func aBackendFailureStopsAndIsRemembered() async throws {
        try await withOrders(supervised: true, grace: .seconds(2)) { orders, clock, probe in
            orders.order(.forwardException("connection refused"))
            #expect(await clock.waitForSleepers(1))
            await settle()
            #expect(probe.stopped.isFired)
            #expect(orders.forwardException == "connection refused")
            clock.advance(by: .seconds(2))
            await settle()
            #expect(orders.drain.isFired)
        }
    }
}
