import Config
import Foundation
import LogStore
import Logging

/// What a slot runs: a miner's worker, or a service's server.
enum SlotRole: Sendable, Equatable {
    case miner(MinerConfig)
    case service(ServiceConfig)

    var name: String {
        switch self {
        case .miner(let miner): miner.name
        case .service(let service): service.name
        }
    }

    var restart: RestartPolicyConfig {
        switch self {
        case .miner(let miner): miner.restart
        case .service(let service): service.restart
        }
    }

    var maxRSS: Int? {
        switch self {
        case .miner(let miner): miner.maxRSS
        case .service(let service): service.maxRSS
        }
    }

    /// `miner 'a'` or `service 'b'`, for log lines.
    var label: String {
        switch self {
        case .miner(let miner): "miner \(miner.name)"
        case .service(let service): "service \(service.name)"
        }
    }
}

/// Whether a service is ready for its miners, and if not, why: what the workers that depend on
/// it tell validators with their 503.
struct Readiness: Sendable, Equatable {
    var ready: Bool
    var reason: String

    static let ready = Readiness(ready: true, reason: "")
}

/// One process under supervision, a miner's worker or a service: starts it, watches it
/// (a worker's "listening" line; a service's health check; the memory of either under
/// `max_rss`), restarts it by the restart policy (a crash-looping one again after the
/// cooldown), stops it on request, and logs every step to the lifecycle table.
actor ProcessSlot {
    private(set) var role: SlotRole
    private var launcher: any WorkerLauncher
    private let log: LogWriter
    private let logger: Logger
    private let clock: SupervisorClock
    private var policy: RestartPolicy
    /// Output lost on the way to the log file or the terminal, over every run.
    let output = WorkerOutput()

    private var state = MinerState.stopped {
        didSet { publishReadiness() }
    }
    private var pid: Int32?
    private var startedAt: Double?
    private var restarts = 0
    private var lastExit: (exit: WorkerExit, at: Double)?
    private var nextStartAt: Double?
    /// Why the next start happens, for its lifecycle row, when it is not a plain restart.
    private var startNote: String?
    /// Why the running process is being stopped by the supervisor itself (health, memory): it
    /// is then restarted, and the restart says why.
    private var restartReason: String?
    /// Set when a service is restarted without ever having passed a check: the restart counts
    /// as a quick crash, so backoff grows and a crash loop is seen.
    private var neverHealthy = false

    private var loop: Task<Void, Never>?
    private var stopRequested = false
    /// Set when the supervisor stops: nothing starts the process again (a reload under way, a
    /// `miners start`, the end of a cooldown).
    private var retired = false
    private var stops: AsyncStream<StopRequest>.Continuation?
    /// Ends a backoff, a cooldown or a wait early: a stop, or a `miners start` during the cooldown.
    private var wakeUp: AsyncStream<Void>.Continuation?

    // Services.
    private let probe: any HealthChecking
    /// Nil when the service may start (and then it has its turn on its GPUs); else what it
    /// waits for (its dependencies, its turn on a GPU).
    private let waitsFor: @Sendable () async -> String?
    /// Gives up its turn on its GPUs: it is healthy, or its run is over.
    private let doneStarting: @Sendable () async -> Void
    /// Told every change of the service's readiness.
    private let readiness: AsyncStream<(String, Readiness)>.Continuation?
    private var published: Readiness?
    /// What a waiting service waits for.
    private var note: String?
    /// Why the supervisor last restarted the service, until a check passes again: a service
    /// that never becomes healthy is shown as such.
    private var lastProblem: String?
    private var lastCheck: ServiceStatus.Check?
    private var healthySince: Double?
    private var residentBytes: Int?

    // Miners.
    /// Whether the worker's services are ready: sent to it at start and at every change.
    private var gate = Readiness(ready: false, reason: "waiting for the supervisor to check its services")

    /// How often the memory of a process under `max_rss` is read.
    static let memoryInterval = 5.0

    init(
        role: SlotRole, launcher: any WorkerLauncher, log: LogWriter, logger: Logger, clock: SupervisorClock = .system,
        probe: any HealthChecking = HealthProbe(), waitsFor: @escaping @Sendable () async -> String? = { nil },
        doneStarting: @escaping @Sendable () async -> Void = {}, readiness: AsyncStream<(String, Readiness)>.Continuation? = nil
    ) {
        self.doneStarting = doneStarting
        self.role = role
        self.launcher = launcher
        self.log = log
        self.logger = logger
        self.clock = clock
        self.policy = RestartPolicy(role.restart)
        self.probe = probe
        self.waitsFor = waitsFor
        self.readiness = readiness
    }

    var name: String { role.name }
    var currentState: MinerState { state }

    var minerStatus: MinerStatus? {
        guard case .miner(let config) = role else { return nil }
        return MinerStatus(
            name: config.name, hotkey: config.hotkey, host: config.host, port: config.port,
            backend: config.backend.kind, batchSize: config.streamingBatchSize, state: state, pid: pid,
            startedAt: startedAt, restarts: restarts, lastExit: lastExit?.exit.description,
            lastExitAt: lastExit?.at, nextStartAt: state == .backingOff || state == .crashLooping ? nextStartAt : nil,
            logLinesLost: output.log.count, logError: output.log.lastReason,
            echoLinesLost: output.echo.count, echoError: output.echo.lastReason,
            notReady: config.services.isEmpty || gate.ready ? nil : gate.reason
        )
    }

    func serviceStatus(dependents: [String]) -> ServiceStatus? {
        guard case .service(let config) = role else { return nil }
        return ServiceStatus(
            name: config.name, host: config.host, port: config.port, program: config.command[0], gpus: config.gpus,
            state: state, note: note ?? (state == .running ? nil : lastProblem), pid: pid, startedAt: startedAt, healthySince: healthySince, restarts: restarts,
            lastExit: lastExit?.exit.description, lastExitAt: lastExit?.at,
            nextStartAt: state == .backingOff || state == .crashLooping ? nextStartAt : nil, lastCheck: lastCheck,
            dependents: dependents, residentBytes: residentBytes, logLinesLost: output.log.count
        )
    }

    /// A service's readiness, as its miners see it.
    var serviceReadiness: Readiness {
        let service = "service '\(role.name)'"
        switch state {
        case .running: return .ready
        case .waiting: return Readiness(ready: false, reason: "\(service) is waiting\(note.map { " (\($0))" } ?? "")")
        case .starting: return Readiness(ready: false, reason: "\(service) is starting")
        case .unhealthy: return Readiness(ready: false, reason: "\(service) is unhealthy: \(lastCheck?.answer ?? "its check failed")")
        case .backingOff, .crashLooping, .stopping, .stopped:
            return Readiness(ready: false, reason: "\(service) is \(state.rawValue.replacingOccurrences(of: "-", with: " "))")
        }
    }

    private func publishReadiness() {
        guard case .service = role, let readiness else { return }
        let now = serviceReadiness
        guard now != published else { return }
        published = now
        readiness.yield((role.name, now))
    }

    /// A miner's services became ready or not: the worker is told at once.
    func setGate(_ readiness: Readiness) {
        guard readiness != gate else { return }
        gate = readiness
        if pid != nil { stops?.yield(.backend(ready: readiness.ready, reason: readiness.reason)) }
    }

    /// Starts the process unless it is already running; a manual start clears a crash loop,
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

    /// Asks the process to stop (the stop order on its pipe), then SIGKILL if it is still there
    /// `grace` + 5 s later. Returns when it has exited.
    func stop(grace: Double, reason: String) async {
        guard let loop else { return }
        if !stopRequested {
            stopRequested = true
            record(.stop, pid: pid, detail: reason)
            if state != .stopped, state != .crashLooping { state = .stopping }
            stops?.yield(.graceful)
            wakeUp?.yield()
            let grace = if case .service(let service) = role { service.gracePeriod } else { grace }
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

    /// Stops the process for good: the supervisor is stopping.
    func retire(grace: Double, reason: String) async {
        retired = true
        await stop(grace: grace, reason: reason)
    }

    /// SIGKILL now (a second signal to the supervisor).
    func forceStop() {
        stops?.yield(.force)
    }

    /// Applies a changed config: the next start uses it.
    func update(_ role: SlotRole, launcher: any WorkerLauncher) {
        self.role = role
        self.launcher = launcher
        policy = RestartPolicy(role.restart)
    }

    private func superviseLoop() async {
        supervising: while !stopRequested {
            if case .service = role {
                while !stopRequested, let awaited = await waitsFor() {
                    if note != awaited { logger.notice("\(role.label): waiting for \(awaited)") }
                    note = awaited
                    state = .waiting
                    await pause(0.25)
                }
                note = nil
                if stopRequested {
                    await doneStarting()
                    break
                }
            }
            state = .starting
            nextStartAt = nil
            restartReason = nil
            neverHealthy = false
            let (requests, continuation) = AsyncStream<StopRequest>.makeStream()
            stops = continuation
            let monotonic = ContinuousClock()
            let started = monotonic.now
            startedAt = clock.now()
            let exit = await withTaskGroup(of: WorkerExit?.self) { group in
                group.addTask { await self.launch(requests) }
                if case .service(let service) = role {
                    group.addTask {
                        await self.watchHealth(service, since: started)
                        return nil
                    }
                }
                if let limit = role.maxRSS {
                    group.addTask {
                        await self.watchMemory(limit: limit)
                        return nil
                    }
                }
                var exit = WorkerExit.exited(code: 127)
                for await result in group {
                    guard let result else { continue }
                    exit = result
                    break
                }
                group.cancelAll()
                return exit
            }
            continuation.finish()
            stops = nil
            await doneStarting()
            let uptime = (monotonic.now - started).seconds
            let now = clock.now()
            lastExit = (exit, now)
            let why = stopRequested ? "requested" : restartReason ?? (exit.isForwardException ? "stop_on_forward_exception" : "unexpected")
            record(.exit, pid: pid, exit: exit, uptime: uptime, detail: why)
            pid = nil
            startedAt = nil
            healthySince = nil
            residentBytes = nil
            if stopRequested { break }
            if let restartReason {
                logger.warning("\(role.label): restarted by the supervisor (\(restartReason))")
            } else {
                logger.warning("\(role.label): exited by itself (\(exit)) after \(String(format: "%.1f", uptime)) s")
            }

            let counted = neverHealthy ? 0 : uptime
            switch policy.decide(now: monotonic.now.secondsSinceStart, uptime: counted, jitter: Double.random(in: 0..<1)) {
            case .restart(let delay):
                restarts += 1
                state = .backingOff
                nextStartAt = now + delay
                record(.backoff, backoff: delay, detail: "restart \(restarts) after \(restartReason ?? exit.description)")
                await pause(delay)
            case .crashLooping(let count, let window):
                state = .crashLooping
                let cooldown = role.restart.crashLoopCooldown
                let loop = "crash-looping: \(count) restarts within \(Self.seconds(window))"
                    + (restartReason.map { "; the last because \($0)" } ?? "")
                guard cooldown > 0 else {
                    nextStartAt = nil
                    let message = "\(loop); left stopped (miners start \(role.name) to try again)"
                    record(.crashLoop, detail: message)
                    logger.critical("\(role.label): \(message)")
                    return
                }
                let retryAt = now + cooldown
                nextStartAt = retryAt
                let at = Date(timeIntervalSince1970: retryAt).formatted(.iso8601)
                let message = "\(loop); trying again after a cooldown of \(Self.seconds(cooldown)), at \(at) (miners start \(role.name) tries now)"
                record(.crashLoop, backoff: cooldown, detail: message)
                logger.critical("\(role.label): \(message)")
                await pause(cooldown)
                if stopRequested || retired { break supervising }
                if startNote == nil {
                    startNote = "after the crash-loop cooldown of \(Self.seconds(cooldown))"
                    logger.notice("\(role.label): crash-loop cooldown over; starting again")
                }
                restarts += 1
                policy.reset()
            }
        }
        state = .stopped
    }

    /// Runs the process to its end; a launch failure is an exit with 127.
    private func launch(_ requests: AsyncStream<StopRequest>) async -> WorkerExit {
        let events = WorkerEvents(
            started: { pid in await self.didStart(pid) },
            listening: { await self.didListen() },
            stops: requests,
            output: output
        )
        do {
            switch role {
            case .miner(let miner): return try await launcher.run(miner, events: events)
            case .service(let service): return try await launcher.runService(service, events: events)
            }
        } catch {
            logger.error("\(role.label): could not start: \(error)")
            return .exited(code: 127)
        }
    }

    /// Checks a service's health while it runs: every second until the first check passes, then
    /// every `interval`. Failed checks in the start period do not count; after it, the first
    /// failed check makes the service unhealthy (its miners refuse with 503) and `failures` in
    /// a row restart it.
    private func watchHealth(_ service: ServiceConfig, since started: ContinuousClock.Instant) async {
        let health = service.health
        var failed = 0
        var everHealthy = false
        while !Task.isCancelled {
            guard (try? await clock.sleep(everHealthy ? health.interval : min(health.interval, 1))) != nil else { return }
            let result = await probe.check(service)
            // A restart under way (max_rss) explains a failed check: it is no news.
            guard !Task.isCancelled, !stopRequested, restartReason == nil else { return }
            let now = clock.now()
            lastCheck = ServiceStatus.Check(at: now, healthy: result.healthy, answer: result.answer, seconds: result.seconds)
            let elapsed = (ContinuousClock.now - started).seconds
            if result.healthy {
                failed = 0
                if !everHealthy {
                    healthySince = now
                    record(.running, pid: pid, detail: "healthy after \(String(format: "%.1f", elapsed)) s (\(result.answer))")
                    logger.notice("\(role.label): healthy after \(String(format: "%.1f", elapsed)) s (pid \(pid.map(String.init) ?? "?"), \(service.rootURL))")
                } else if state == .unhealthy {
                    record(.running, pid: pid, detail: "healthy again (\(result.answer))")
                    logger.notice("\(role.label): healthy again")
                }
                let first = !everHealthy
                everHealthy = true
                lastProblem = nil
                state = .running
                if first { await doneStarting() }  // its GPUs' turn passes on
                continue
            }
            if !everHealthy, elapsed < health.startPeriod { continue }
            failed += 1
            if state == .running {
                state = .unhealthy
                record(.unhealthy, pid: pid, detail: "check failed: \(result.answer)")
                logger.warning("\(role.label): unhealthy: \(result.answer)")
            } else if state == .unhealthy {
                publishReadiness()  // the newest answer is the reason its miners give
            }
            guard failed >= health.failures else { continue }
            let reason = everHealthy
                ? "unhealthy: \(failed) failed checks in a row, the last: \(result.answer)"
                : "never healthy within start_period \(Self.seconds(health.startPeriod)) and \(failed) more checks, the last: \(result.answer)"
            restartReason = reason
            lastProblem = reason
            neverHealthy = !everHealthy
            record(.unhealthy, pid: pid, detail: reason + "; restarting")
            logger.error("\(role.label): \(reason); restarting")
            stops?.yield(.graceful)
            return
        }
    }

    /// Reads the memory of the process tree every few seconds (`ProcessTree`); above `limit`,
    /// stops it gracefully to be restarted.
    private func watchMemory(limit: Int) async {
        while !Task.isCancelled {
            guard (try? await clock.sleep(Self.memoryInterval)) != nil else { return }
            guard let pid, !stopRequested, restartReason == nil, let bytes = await Self.memory(of: pid) else { continue }
            residentBytes = bytes
            guard bytes > limit else { continue }
            let reason = "max_rss: \(Self.mebibytes(bytes)) in memory, above the limit of \(Self.mebibytes(limit))"
            restartReason = reason
            state = .stopping  // a service's miners refuse meanwhile
            record(.stop, pid: pid, detail: reason + "; restarting gracefully")
            logger.warning("\(role.label): \(reason); restarting gracefully")
            stops?.yield(.graceful)
            return
        }
    }

    /// Reads `/proc` off the actor: a host may run thousands of processes.
    @concurrent nonisolated static func memory(of pid: Int32) async -> Int? {
        ProcessTree.residentBytes(root: pid)
    }

    static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.0f MiB", Double(bytes) / 1_048_576)
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
        if case .miner(let miner) = role, !miner.services.isEmpty {
            stops?.yield(.backend(ready: gate.ready, reason: gate.reason))
        }
    }

    private func didListen() {
        guard state == .starting, case .miner(let miner) = role else { return }
        state = .running
        record(.running, pid: pid)
        logger.info("miner \(miner.name): running (pid \(pid.map(String.init) ?? "?"), \(miner.host):\(miner.port))")
    }

    private func record(
        _ event: LifecycleRecord.Event, pid: Int32? = nil, exit: WorkerExit? = nil, uptime: Double? = nil,
        backoff: Double? = nil, detail: String? = nil
    ) {
        var row = LifecycleRecord(
            at: clock.now(), miner: nil, event: event, pid: pid, exitCode: exit?.code,
            signal: exit?.signal, uptime: uptime, backoff: backoff, detail: detail
        )
        switch role {
        case .miner(let miner): row.miner = miner.name
        case .service(let service): row.service = service.name
        }
        log.record(row)
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
