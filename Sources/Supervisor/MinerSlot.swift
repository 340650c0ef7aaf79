import Config
import Foundation
import LogStore
import Logging

/// One miner under supervision: starts its worker, watches it, restarts it by the restart
/// policy (a crash-looping one again after the cooldown), stops it on request, and logs every
/// step to the lifecycle table.
actor MinerSlot {
    private(set) var config: MinerConfig
    private var launcher: any WorkerLauncher
    private let log: LogWriter
    private let logger: Logger
    private let clock: SupervisorClock
    private var policy: RestartPolicy
    /// Output lost on the way to the log file or the terminal, over every run of the worker.
    let output = WorkerOutput()

    private var state = MinerState.stopped
    private var pid: Int32?
    private var startedAt: Double?
    private var restarts = 0
    private var lastExit: (exit: WorkerExit, at: Double)?
    private var nextStartAt: Double?
    /// Why the next start happens, for its lifecycle row, when it is not a plain restart.
    private var startNote: String?

    private var loop: Task<Void, Never>?
    private var stopRequested = false
    /// Set when the supervisor stops: nothing starts the worker again (a reload under way, a
    /// `miners start`, the end of a cooldown).
    private var retired = false
    private var stops: AsyncStream<StopRequest>.Continuation?
    /// Ends a backoff or a cooldown early: a stop, or a `miners start` during the cooldown.
    private var wakeUp: AsyncStream<Void>.Continuation?

    init(config: MinerConfig, launcher: any WorkerLauncher, log: LogWriter, logger: Logger, clock: SupervisorClock = .system) {
        self.config = config
        self.launcher = launcher
        self.log = log
        self.logger = logger
        self.clock = clock
        self.policy = RestartPolicy(config.restart)
    }

    var status: MinerStatus {
        MinerStatus(
            name: config.name, hotkey: config.hotkey, host: config.host, port: config.port,
            backend: config.backend.kind, batchSize: config.streamingBatchSize, state: state, pid: pid,
            startedAt: startedAt, restarts: restarts, lastExit: lastExit?.exit.description,
            lastExitAt: lastExit?.at, nextStartAt: state == .backingOff || state == .crashLooping ? nextStartAt : nil,
            logLinesLost: output.log.count, logError: output.log.lastReason,
            echoLinesLost: output.echo.count, echoError: output.echo.lastReason
        )
    }

    /// Starts the worker unless it is already running; a manual start clears a crash loop,
    /// also in the middle of its cooldown.
    func start() {
        guard !retired else { return }
        if state == .crashLooping, let wakeUp {
            policy.reset()
            startNote = "started by hand during the crash-loop cooldown"
            wakeUp.yield()
            return
        }
        guard state == .stopped || state == .crashLooping else { return }
        stopRequested = false
        policy.reset()
        state = .starting
        loop = Task { await self.superviseLoop() }
    }

    /// Asks the worker to stop (the stop order on its pipe), then SIGKILL if it is still there
    /// `grace` + 5 s later. Returns when the worker has exited.
    func stop(grace: Double, reason: String) async {
        guard let loop else { return }
        if !stopRequested {
            stopRequested = true
            record(.stop, pid: pid, detail: reason)
            if state != .stopped, state != .crashLooping { state = .stopping }
            stops?.yield(.graceful)
            wakeUp?.yield()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [clock] in
                    guard (try? await clock.sleep(grace + 5)) != nil else { return }  // cancelled: it stopped in time
                    await self.forceStop()
                }
                await loop.value
                group.cancelAll()
            }
        } else {
            await loop.value
        }
        state = .stopped
    }

    /// Stops the worker for good: the supervisor is stopping.
    func retire(grace: Double, reason: String) async {
        retired = true
        await stop(grace: grace, reason: reason)
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
        supervising: while !stopRequested {
            state = .starting
            nextStartAt = nil
            let (requests, continuation) = AsyncStream<StopRequest>.makeStream()
            stops = continuation
            let monotonic = ContinuousClock()
            let started = monotonic.now
            startedAt = clock.now()
            let exit: WorkerExit
            do {
                exit = try await launcher.run(config, events: WorkerEvents(
                    started: { pid in await self.didStart(pid) },
                    listening: { await self.didListen() },
                    stops: requests,
                    output: output
                ))
            } catch {
                logger.error("miner \(config.name): could not start its worker: \(error)")
                exit = .exited(code: 127)
            }
            continuation.finish()
            stops = nil
            let uptime = (monotonic.now - started).seconds
            let now = clock.now()
            lastExit = (exit, now)
            record(
                .exit, pid: pid, exit: exit, uptime: uptime,
                detail: stopRequested ? "requested" : exit.isForwardException ? "stop_on_forward_exception" : "unexpected"
            )
            pid = nil
            startedAt = nil
            if stopRequested { break }
            logger.warning("miner \(config.name): worker exited by itself (\(exit)) after \(String(format: "%.1f", uptime)) s")

            switch policy.decide(now: monotonic.now.secondsSinceStart, uptime: uptime, jitter: Double.random(in: 0..<1)) {
            case .restart(let delay):
                restarts += 1
                state = .backingOff
                nextStartAt = now + delay
                record(.backoff, backoff: delay, detail: "restart \(restarts) after \(exit)")
                await pause(delay)
            case .crashLooping(let count, let window):
                state = .crashLooping
                let cooldown = config.restart.crashLoopCooldown
                let loop = "crash-looping: \(count) restarts within \(Self.seconds(window))"
                guard cooldown > 0 else {
                    nextStartAt = nil
                    let message = "\(loop); left stopped (miners start \(config.name) to try again)"
                    record(.crashLoop, detail: message)
                    logger.critical("miner \(config.name): \(message)")
                    return
                }
                let retryAt = now + cooldown
                nextStartAt = retryAt
                let at = Date(timeIntervalSince1970: retryAt).formatted(.iso8601)
                let message = "\(loop); trying again after a cooldown of \(Self.seconds(cooldown)), at \(at) (miners start \(config.name) tries now)"
                record(.crashLoop, backoff: cooldown, detail: message)
                logger.critical("miner \(config.name): \(message)")
                await pause(cooldown)
                if stopRequested || retired { break supervising }
                if startNote == nil {
                    startNote = "after the crash-loop cooldown of \(Self.seconds(cooldown))"
                    logger.notice("miner \(config.name): crash-loop cooldown over; starting the worker again")
                }
                restarts += 1
                policy.reset()
            }
        }
        state = .stopped
    }

    /// Waits `seconds`, or less if `wakeUp` fires.
    private func pause(_ seconds: Double) async {
        let (wake, continuation) = AsyncStream<Void>.makeStream()
        wakeUp = continuation
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [clock] in try? await clock.sleep(seconds) }
            group.addTask { for await _ in wake { return } }
            await group.next()
            group.cancelAll()
        }
        continuation.finish()
        wakeUp = nil
    }

    private func didStart(_ pid: Int32) {
        self.pid = pid
        record(.start, pid: pid, detail: startNote ?? (restarts == 0 ? nil : "restart \(restarts)"))
        startNote = nil
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
            at: clock.now(), miner: config.name, event: event, pid: pid, exitCode: exit?.code,
            signal: exit?.signal, uptime: uptime, backoff: backoff, detail: detail
        ))
    }

    static func seconds(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value)) s" : String(format: "%.1f s", value)
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
