import Config
import Foundation
import LogStore
import Logging

/// Runs every miner of a config as a worker process and keeps the set in line with the config.
public actor Supervisor {
    public private(set) var config: MinersConfig
    private let makeLauncher: @Sendable (MinersConfig) -> any WorkerLauncher
    private let log: LogWriter
    private let logger: Logger
    private var slots: [String: MinerSlot] = [:]
    /// Slots a reload removed whose workers are still stopping: a stop of the supervisor waits
    /// for them too.
    private var leaving: [ObjectIdentifier: MinerSlot] = [:]
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
        ownLines: LossCounter = LossCounter(),
        makeLauncher: @escaping @Sendable (MinersConfig) -> any WorkerLauncher
    ) {
        self.config = config
        self.log = log
        self.logger = logger
        self.clock = clock
        self.ownLines = ownLines
        self.makeLauncher = makeLauncher
        self.chain = ChainDuties(log: log, logger: logger)
        self.startedAt = clock.now()
    }

    /// Starts a worker for every miner, after writing any metagraph snapshot a worker needs
    /// and does not have yet; publishing axons goes on in the background. A stop that comes
    /// meanwhile wins: what has not started yet does not.
    public func startAll() async {
        log.record(LifecycleRecord(
            at: clock.now(), miner: nil, event: .supervisorStart, pid: getpid(),
            detail: "\(config.file): \(config.miners.count) miners"
        ))
        await chain.prepare(config)
        guard !isStopping else { return }
        await chain.apply(config)
        let launcher = makeLauncher(config)
        for miner in config.miners where !isStopping {
            let slot = makeSlot(miner, launcher: launcher)
            slots[miner.name] = slot
            await slot.start()
        }
    }

    private func makeSlot(_ miner: MinerConfig, launcher: any WorkerLauncher) -> MinerSlot {
        MinerSlot(config: miner, launcher: launcher, log: log, logger: logger, clock: clock)
    }

    /// Stops every worker gracefully, all at once; returns when all have exited. Runs at once
    /// even while a reload is under way (the actor is free whenever the reload waits), and
    /// the reload then starts nothing.
    public func stopAll(reason: String) async {
        isStopping = true
        await chain.stop()
        await withTaskGroup(of: Void.self) { group in
            for slot in Array(slots.values) + Array(leaving.values) {
                group.addTask { [grace = config.supervisor.gracePeriod] in await slot.retire(grace: grace, reason: reason) }
            }
        }
        log.record(LifecycleRecord(at: clock.now(), miner: nil, event: .supervisorStop, pid: getpid(), detail: reason))
    }

    /// SIGKILL to every worker (a second stop signal).
    public func forceStopAll() async {
        for slot in slots.values { await slot.forceStop() }
    }

    /// Re-reads the config file and applies the difference: removed miners stop, changed ones
    /// restart with their new settings, added ones start, unchanged ones are not touched. An
    /// invalid config changes nothing and is reported.
    public func reload() async throws(ConfigError) -> String {
        guard !isStopping else {
            throw ConfigError(file: config.file, message: "the supervisor is stopping; nothing is reloaded")
        }
        var ownPorts = Set<String>()
        for slot in slots.values { ownPorts.insert(ConfigCheck.key(await slot.config)) }
        if let port = config.supervisor.metricsPort { ownPorts.insert("\(config.supervisor.metricsHost):\(port)") }
        let new = try ConfigCheck.run(path: config.file, ownPorts: ownPorts)
        guard new.database == config.database else {
            throw ConfigError(file: config.file, field: "database", message: "cannot change while the supervisor runs (it is \(config.database)); restart the supervisor")
        }
        guard new.supervisor.metricsPort == config.supervisor.metricsPort, new.supervisor.metricsHost == config.supervisor.metricsHost else {
            throw ConfigError(file: config.file, field: "supervisor.metrics_port", message: "cannot change while the supervisor runs; restart the supervisor")
        }
        let oldByName = Dictionary(uniqueKeysWithValues: config.miners.map { ($0.name, $0) })
        let newByName = Dictionary(uniqueKeysWithValues: new.miners.map { ($0.name, $0) })
        let removed = config.miners.map(\.name).filter { newByName[$0] == nil }
        let added = new.miners.map(\.name).filter { oldByName[$0] == nil }
        // Only a worker's own settings restart it; chain keys alone are the chain duties' business.
        let changed = new.miners.map(\.name).filter { name in
            oldByName[name].map { $0.workerSettings != newByName[name]?.workerSettings } ?? false
        }
        let grace = new.supervisor.gracePeriod
        config = new
        await chain.prepare(new)
        // A stop that came while the snapshots were fetched wins: nothing more changes.
        guard !isStopping else { return "reload of \(new.file) cut short: the supervisor is stopping" }
        await chain.apply(new)
        let launcher = makeLauncher(new)
        let removedSlots = removed.compactMap { slots[$0] }

        await withTaskGroup(of: Void.self) { group in
            for name in removed {
                guard let slot = slots.removeValue(forKey: name) else { continue }
                leaving[ObjectIdentifier(slot)] = slot
                group.addTask { await slot.stop(grace: grace, reason: "removed from the config") }
            }
            for name in changed {
                guard let slot = slots[name], let miner = newByName[name] else { continue }
                group.addTask {
                    await slot.stop(grace: grace, reason: "changed in the config")
                    await slot.update(miner, launcher: launcher)
                    await slot.start()
                }
            }
        }
        leaving = leaving.filter { _, slot in !removedSlots.contains { $0 === slot } }
        for name in added where !isStopping {
            guard let miner = newByName[name] else { continue }
            let slot = makeSlot(miner, launcher: launcher)
            slots[name] = slot
            await slot.start()
        }
        let summary = "reloaded \(new.file): \(added.count) added, \(removed.count) removed, \(changed.count) changed, "
            + "\(new.miners.count - added.count - changed.count) unchanged"
            + (added + removed + changed).sorted().map { " \($0)" }.joined(separator: ",")
            + (isStopping ? " (cut short: the supervisor is stopping, nothing was started)" : "")
        log.record(LifecycleRecord(at: clock.now(), miner: nil, event: .reload, pid: getpid(), detail: summary))
        logger.notice("\(summary)")
        return summary
    }

    public enum ControlError: Error, CustomStringConvertible {
        case unknownMiner(String, known: [String])
        case stopping
        public var description: String {
            switch self {
            case .unknownMiner(let name, let known): "no miner named '\(name)'; the miners are: \(known.joined(separator: ", "))"
            case .stopping: "the supervisor is stopping"
            }
        }
    }

    private func slot(_ name: String) throws(ControlError) -> MinerSlot {
        guard !isStopping else { throw .stopping }
        guard let slot = slots[name] else { throw .unknownMiner(name, known: config.miners.map(\.name)) }
        return slot
    }

    public func stop(_ name: String) async throws(ControlError) {
        try await slot(name).stop(grace: config.supervisor.gracePeriod, reason: "miners stop")
    }

    public func start(_ name: String) async throws(ControlError) {
        try await slot(name).start()
    }

    public func restart(_ name: String) async throws(ControlError) {
        let slot = try slot(name)
        await slot.stop(grace: config.supervisor.gracePeriod, reason: "miners restart")
        await slot.start()
    }

    public func status() async -> SupervisorStatus {
        var miners: [MinerStatus] = []
        for miner in config.miners {
            if let slot = slots[miner.name] { miners.append(await slot.status) }
        }
        return SupervisorStatus(
            pid: getpid(), config: config.file, database: config.database, startedAt: startedAt, miners: miners,
            stderrLinesLost: ownLines.count, stderrError: ownLines.lastReason
        )
    }
}
