import Config
import Foundation
import LogStore
import Logging

/// One miner under supervision: starts its worker, watches it, restarts it by the restart
/// policy, stops it on request, and logs every step to the lifecycle table.
actor MinerSlot {
    private(set) var config: MinerConfig
    private var launcher: any WorkerLauncher
    private let log: LogWriter
    private let logger: Logger
    private var policy: RestartPolicy

    private var state = MinerState.stopped
    private var pid: Int32?
    private var startedAt: Double?
    private var restarts = 0
    private var lastExit: (exit: WorkerExit, at: Double)?
    private var nextStartAt: Double?

    private var loop: Task<Void, Never>?
    private var stopRequested = false
    private var stops: AsyncStream<StopRequest>.Continuation?
    private var backoff: Task<Void, Never>?

    init(config: MinerConfig, launcher: any WorkerLauncher, log: LogWriter, logger: Logger) {
        self.config = config
        self.launcher = launcher
        self.log = log
        self.logger = logger
        self.policy = RestartPolicy(config.restart)
    }

    var status: MinerStatus {
        MinerStatus(
            name: config.name, hotkey: config.hotkey, host: config.host, port: config.port,
            backend: config.backend.kind, batchSize: config.streamingBatchSize, state: state, pid: pid,
            startedAt: startedAt, restarts: restarts, lastExit: lastExit?.exit.description,
            lastExitAt: lastExit?.at, nextStartAt: state == .backingOff ? nextStartAt : nil
        )
    }

    /// Starts the worker unless it is already running (a manual start clears a crash loop).
    func start() {
        guard state == .stopped || state == .crashLooping else { return }
        stopRequested = false
        policy.reset()
        state = .starting
        loop = Task { await self.superviseLoop() }
    }

    /// Stops the worker: SIGTERM, then SIGKILL if it is still there `grace` + 5 s later.
    /// Returns when the worker has exited.
    func stop(grace: Double, reason: String) async {
        guard let loop else { return }
        if !stopRequested {
            stopRequested = true
            record(.stop, pid: pid, detail: reason)
            if state != .stopped, state != .crashLooping { state = .stopping }
            stops?.yield(.graceful)
            backoff?.cancel()
            let force = Task { [weak self] in
                do {
                    try await Task.sleep(for: .seconds(grace + 5))
                    await self?.forceStop()
                } catch {}  // cancelled: the worker stopped in time
            }
            await loop.value
            force.cancel()
        } else {
            await loop.value
        }
        state = .stopped
    }

    /// SIGKILL now (a second signal to the supervisor).
    func forceStop() {
        stops?.yield(.force)
    }

    /// Applies a changed config: the next start uses it.
    func update(_ config: MinerConfig, launcher: any WorkerLauncher) {
        self.config = config
        self.launcher = launcher
        policy = RestartPolicy(config.restart)
    }

    private func superviseLoop() async {
        while !stopRequested {
            state = .starting
            let (requests, continuation) = AsyncStream<StopRequest>.makeStream()
            stops = continuation
            let clock = ContinuousClock()
            let started = clock.now
            startedAt = Date().timeIntervalSince1970
            let exit: WorkerExit
            do {
                exit = try await launcher.run(config, events: WorkerEvents(
                    started: { pid in Task { await self.didStart(pid) } },
                    listening: { Task { await self.didListen() } },
                    stops: requests
                ))
            } catch {
                logger.error("miner \(config.name): could not start its worker: \(error)")
                exit = .exited(code: 127)
            }
            continuation.finish()
            stops = nil
            let uptime = (clock.now - started).seconds
            let now = Date().timeIntervalSince1970
            lastExit = (exit, now)
            record(
                .exit, pid: pid, exit: exit, uptime: uptime,
                detail: stopRequested ? "requested" : exit.isForwardException ? "stop_on_forward_exception" : "unexpected"
            )
            pid = nil
            startedAt = nil
            if stopRequested { break }
            logger.warning("miner \(config.name): worker exited by itself (\(exit)) after \(String(format: "%.1f", uptime)) s")

            switch policy.decide(now: clock.now.secondsSinceStart, uptime: uptime, jitter: Double.random(in: 0..<1)) {
            case .restart(let delay):
                restarts += 1
                state = .backingOff
                nextStartAt = now + delay
                record(.backoff, backoff: delay, detail: "restart \(restarts) after \(exit)")
                let sleep = Task { _ = try? await Task.sleep(for: .seconds(delay)) }
                backoff = sleep
                await sleep.value
                backoff = nil
            case .crashLooping(let count, let window):
                state = .crashLooping
                let message = "crash-looping: \(count) restarts within \(Int(window)) s; left stopped (miners start \(config.name) to try again)"
                record(.crashLoop, detail: message)
                logger.critical("miner \(config.name): \(message)")
                return
            }
        }
        state = .stopped
    }

    private func didStart(_ pid: Int32) {
        self.pid = pid
        record(.start, pid: pid, detail: restarts == 0 ? nil : "restart \(restarts)")
    }

    private func didListen() {
        guard state == .starting else { return }
        state = .running
        record(.running, pid: pid)
        logger.info("miner \(config.name): running (pid \(pid.map(String.init) ?? "?"), \(config.host):\(config.port))")
    }

    private func record(
        _ event: LifecycleRecord.Event, pid: Int32? = nil, exit: WorkerExit? = nil, uptime: Double? = nil,
        backoff: Double? = nil, detail: String? = nil
    ) {
        log.record(LifecycleRecord(
            at: Date().timeIntervalSince1970, miner: config.name, event: event, pid: pid, exitCode: exit?.code,
            signal: exit?.signal, uptime: uptime, backoff: backoff, detail: detail
        ))
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension ContinuousClock.Instant {
    /// Seconds on the monotonic clock, for the restart policy's window.
    var secondsSinceStart: Double { (self - ContinuousClock.Instant.processStart).seconds }
    static let processStart = ContinuousClock.now
}
