import Config
import Foundation
import LogStore
import Logging

/// Runs every service and miner of a config as a child process and keeps the set in line with
/// the config: services start first (one after another on a shared GPU), and each miner's
/// worker is told whether the services it needs are ready.
public actor Supervisor {
    public private(set) var config: MinersConfig
    private let makeLauncher: @Sendable (MinersConfig) -> any WorkerLauncher
    private let log: LogWriter
    private let logger: Logger
    private var slots: [String: ProcessSlot] = [:]
    private var serviceSlots: [String: ProcessSlot] = [:]
    /// Slots a reload removed whose processes are still stopping: a stop of the supervisor waits
    /// for them too.
    private var leaving: [ObjectIdentifier: ProcessSlot] = [:]
    /// Each service's readiness as its slot last reported it.
    private var readiness: [String: Readiness] = [:]
    /// Each GPU's turn: the service starting on it. Another that shares the GPU waits until it
    /// is healthy or its run is over (a vLLM server fixes its share of the GPU's memory when it
    /// starts, from what is free then).
    private var gpuTurns: [Int: String] = [:]
    private let readinessChanges: AsyncStream<(String, Readiness)>
    private let readinessSink: AsyncStream<(String, Readiness)>.Continuation
    /// Hands readiness changes on to the miners that depend on them, from `startAll` to `stopAll`.
    private var relay: Task<Void, Never>?
    private let probe: any HealthChecking
    private let chain: ChainDuties
    private let clock: SupervisorClock
    /// The supervisor's own log lines lost on the way to its standard error.
    private let ownLines: LossCounter
    private let startedAt: Double
    /// Set by `stopAll`: from then on nothing starts, whatever a reload or a control request
    /// still under way asks.
    public private(set) var isStopping = false

    public init(
        config: MinersConfig, log: LogWriter, logger: Logger, clock: SupervisorClock = .system,
        ownLines: LossCounter = LossCounter(), probe: any HealthChecking = HealthProbe(),
        makeLauncher: @escaping @Sendable (MinersConfig) -> any WorkerLauncher
    ) {
        self.probe = probe
        (readinessChanges, readinessSink) = AsyncStream.makeStream()
        self.config = config
        self.log = log
        self.logger = logger
        self.clock = clock
        self.ownLines = ownLines
        self.makeLauncher = makeLauncher
        self.chain = ChainDuties(log: log, logger: logger)
        self.startedAt = clock.now()
    }

    /// Starts every service, then a worker for every miner, after writing any metagraph
    /// snapshot a worker needs and does not have yet; publishing axons goes on in the
    /// background. A stop that comes meanwhile wins: what has not started yet does not.
    public func startAll() async {
        log.record(LifecycleRecord(
            at: clock.now(), miner: nil, event: .supervisorStart, pid: getpid(),
            detail: "\(config.file): \(config.services.count) services, \(config.miners.count) miners"
        ))
        relay = Task { [readinessChanges] in
            for await (name, state) in readinessChanges { await self.serviceChanged(name, state) }
        }
        await chain.prepare(config)
        guard !isStopping else { return }
        await chain.apply(config)
        let launcher = makeLauncher(config)
        for service in config.services where !isStopping {
            let slot = makeSlot(.service(service), launcher: launcher)
            serviceSlots[service.name] = slot
            await slot.start()
        }
        for miner in config.miners where !isStopping {
            let slot = makeSlot(.miner(miner), launcher: launcher)
            slots[miner.name] = slot
            await slot.setGate(gate(for: miner))
            await slot.start()
        }
    }

    private func makeSlot(_ role: SlotRole, launcher: any WorkerLauncher) -> ProcessSlot {
        let name = role.name
        return ProcessSlot(
            role: role, launcher: launcher, log: log, logger: logger, clock: clock, probe: probe,
            waitsFor: { [weak self] in await self?.awaited(by: name) },
            doneStarting: { [weak self] in await self?.endTurns(of: name) }, readiness: readinessSink
        )
    }

    /// What a service waits for before it starts: its `depends_on` healthy, and its turn on
    /// each of its GPUs. Nil: it may start, and has taken those turns.
    private func awaited(by name: String) -> String? {
        guard let service = config.service(named: name) else { return nil }
        if let dependency = service.dependsOn.first(where: { readiness[$0]?.ready != true }) {
            return "'\(dependency)' to be healthy (depends_on)"
        }
        let held = service.gpus.filter { gpuTurns[$0] != nil && gpuTurns[$0] != name }
        if let gpu = held.first, let holder = gpuTurns[gpu] {
            return "'\(holder)' to finish starting on GPU \(held.filter { gpuTurns[$0] == holder }.map(String.init).joined(separator: ","))"
        }
        for gpu in service.gpus { gpuTurns[gpu] = name }
        return nil
    }

    private func endTurns(of name: String) {
        gpuTurns = gpuTurns.filter { $0.value != name }
    }

    /// The readiness a miner's worker is told: that of the first of its services not ready.
    private func gate(for miner: MinerConfig) -> Readiness {
        for name in miner.services {
            let state = readiness[name] ?? Readiness(ready: false, reason: "service '\(name)' has not started")
            if !state.ready { return state }
        }
        return .ready
    }

    private func serviceChanged(_ name: String, _ state: Readiness) async {
        readiness[name] = state
        for miner in config.miners where miner.services.contains(name) {
            await slots[miner.name]?.setGate(gate(for: miner))
        }
    }

    /// Stops every worker gracefully, all at once, then every service (the workers' open streams
    /// may still need them); returns when all have exited. Runs at once even while a reload is
    /// under way (the actor is free whenever the reload waits), and the reload then starts nothing.
    public func stopAll(reason: String) async {
        isStopping = true
        await chain.stop()
        let grace = config.supervisor.gracePeriod
        var workers = Array(slots.values)
        var services = Array(serviceSlots.values)
        for slot in leaving.values {
            if case .service = await slot.role { services.append(slot) } else { workers.append(slot) }
        }
        for group in [workers, services] {
            await withTaskGroup(of: Void.self) { tasks in
                for slot in group { tasks.addTask { await slot.retire(grace: grace, reason: reason) } }
            }
        }
        readinessSink.finish()
        await relay?.value
        log.record(LifecycleRecord(at: clock.now(), miner: nil, event: .supervisorStop, pid: getpid(), detail: reason))
    }

    /// SIGKILL to every worker (a second stop signal).
    public func forceStopAll() async {
        for slot in Array(slots.values) + Array(serviceSlots.values) + Array(leaving.values) { await slot.forceStop() }
    }

    /// Re-reads the config file and applies the difference: removed miners stop, changed ones
    /// restart with their new settings, added ones start, unchanged ones are not touched. An
    /// invalid config changes nothing and is reported.
    public func reload() async throws(ConfigError) -> String {
        guard !isStopping else {
            throw ConfigError(file: config.file, message: "the supervisor is stopping; nothing is reloaded")
        }
        var ownPorts = Set<String>()
        for slot in slots.values {
            if case .miner(let miner) = await slot.role { ownPorts.insert(ConfigCheck.key(host: miner.host, port: miner.port)) }
        }
        for service in config.services { ownPorts.insert(ConfigCheck.key(host: service.host, port: service.port)) }
        if let port = config.supervisor.metricsPort { ownPorts.insert("\(config.supervisor.metricsHost):\(port)") }
        let new = try ConfigCheck.run(path: config.file, ownPorts: ownPorts, host: config.selectedHost)
        guard new.database == config.database else {
            throw ConfigError(file: config.file, field: "database", message: "cannot change while the supervisor runs (it is \(config.database)); restart the supervisor")
        }
        guard new.supervisor.metricsPort == config.supervisor.metricsPort, new.supervisor.metricsHost == config.supervisor.metricsHost else {
            throw ConfigError(file: config.file, field: "supervisor.metrics_port", message: "cannot change while the supervisor runs; restart the supervisor")
        }
        // Only a worker's own settings restart it; chain keys alone are the chain duties' business.
        let miners = Changes(old: config.miners, new: new.miners, name: \.name) { $0.workerSettings != $1.workerSettings }
        let services = Changes(old: config.services, new: new.services, name: \.name) { $0 != $1 }
        let grace = new.supervisor.gracePeriod
        let fleetBefore = config.fleet
        config = new
        await chain.prepare(new)
        // A stop that came while the snapshots were fetched wins: nothing more changes.
        guard !isStopping else { return "reload of \(new.file) cut short: the supervisor is stopping" }
        await chain.apply(new)
        let launcher = makeLauncher(new)
        var removedSlots: [ProcessSlot] = []

        await withTaskGroup(of: Void.self) { group in
            var removed = services.removed.compactMap { name in
                readiness[name] = nil
                endTurns(of: name)
                return serviceSlots.removeValue(forKey: name)
            }
            removed += miners.removed.compactMap { slots.removeValue(forKey: $0) }
            for slot in removed {
                leaving[ObjectIdentifier(slot)] = slot
                removedSlots.append(slot)
                group.addTask { await slot.stop(grace: grace, reason: "removed from the config") }
            }
            for service in services.changed {
                guard let slot = serviceSlots[service.name] else { continue }
                group.addTask {
                    await slot.stop(grace: grace, reason: "changed in the config")
                    await slot.update(.service(service), launcher: launcher)
                    await slot.start()
                }
            }
            for miner in miners.changed {
                guard let slot = slots[miner.name] else { continue }
                let gate = gate(for: miner)
                group.addTask {
                    await slot.stop(grace: grace, reason: "changed in the config")
                    await slot.update(.miner(miner), launcher: launcher)
                    await slot.setGate(gate)
                    await slot.start()
                }
            }
        }
        leaving = leaving.filter { _, slot in !removedSlots.contains { $0 === slot } }
        for service in services.added where !isStopping {
            let slot = makeSlot(.service(service), launcher: launcher)
            serviceSlots[service.name] = slot
            await slot.start()
        }
        for miner in miners.added where !isStopping {
            let slot = makeSlot(.miner(miner), launcher: launcher)
            slots[miner.name] = slot
            await slot.setGate(gate(for: miner))
            await slot.start()
        }
        // A miner whose services changed but whose own settings did not keeps running: its gate follows the new set.
        for miner in new.miners { await slots[miner.name]?.setGate(gate(for: miner)) }
        var summary = "reloaded \(new.file): " + miners.summary()
        if !services.isEmpty { summary += "; services: " + services.summary() }
        if fleetBefore != new.fleet {
            summary += new.fleet.map { "; fleet: replicating to \($0.postgres) as host '\($0.host)'" } ?? "; fleet: removed, replication stops"
        }
        if isStopping { summary += " (cut short: the supervisor is stopping, nothing was started)" }
        log.record(LifecycleRecord(at: clock.now(), miner: nil, event: .reload, pid: getpid(), detail: summary))
        logger.notice("\(summary)")
        return summary
    }

    /// What a reload does to one kind of process: by name, in the config's order.
    struct Changes<Item: Sendable>: Sendable {
        var removed: [String] = []
        var added: [Item] = []
        var changed: [Item] = []
        var unchanged = 0

        init(old: [Item], new: [Item], name: (Item) -> String, differs: (Item, Item) -> Bool) {
            let oldByName = Dictionary(old.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
            let newNames = Set(new.map(name))
            removed = old.map(name).filter { !newNames.contains($0) }
            for item in new {
                guard let before = oldByName[name(item)] else { added.append(item); continue }
                if differs(before, item) { changed.append(item) } else { unchanged += 1 }
            }
            self.names = (removed + added.map(name) + changed.map(name)).sorted()
        }

        private var names: [String] = []
        var isEmpty: Bool { names.isEmpty && unchanged == 0 }

        /// `2 added, 0 removed, 1 changed, 3 unchanged a, b, c`
        func summary() -> String {
            "\(added.count) added, \(removed.count) removed, \(changed.count) changed, \(unchanged) unchanged"
                + names.map { " \($0)" }.joined(separator: ",")
        }
    }

    public enum ControlError: Error, CustomStringConvertible {
        case unknownMiner(String, known: [String])
        case stopping
        public var description: String {
            switch self {
            case .unknownMiner(let name, let known): "no miner or service named '\(name)'; there are: \(known.joined(separator: ", "))"
            case .stopping: "the supervisor is stopping"
            }
        }
    }

    /// A miner's slot, or a service's: control commands take either name.
    private func slot(_ name: String) throws(ControlError) -> ProcessSlot {
        guard !isStopping else { throw .stopping }
        guard let slot = slots[name] ?? serviceSlots[name] else {
            throw .unknownMiner(name, known: config.miners.map(\.name) + config.services.map(\.name))
        }
        return slot
    }

    public func stop(_ name: String) async throws(ControlError) {
        try await slot(name).stop(grace: config.supervisor.gracePeriod, reason: "miners stop")
    }

    public func start(_ name: String) async throws(ControlError) {
        try await slot(name).start()
    }

    /// A service's miners refuse with 503 (`backend_not_ready`) until it is healthy again.
    public func restart(_ name: String) async throws(ControlError) {
        let slot = try slot(name)
        await slot.stop(grace: config.supervisor.gracePeriod, reason: "miners restart")
        await slot.start()
    }

    public func status() async -> SupervisorStatus {
        var miners: [MinerStatus] = []
        for miner in config.miners {
            if let status = await slots[miner.name]?.minerStatus { miners.append(status) }
        }
        var services: [ServiceStatus] = []
        for service in config.services {
            if let status = await serviceSlots[service.name]?.serviceStatus(dependents: config.dependents(of: service.name)) {
                services.append(status)
            }
        }
        var status = SupervisorStatus(
            pid: getpid(), config: config.file, database: config.database, startedAt: startedAt, miners: miners,
            stderrLinesLost: ownLines.count, stderrError: ownLines.lastReason
        )
        status.services = services
        return status
    }
}
