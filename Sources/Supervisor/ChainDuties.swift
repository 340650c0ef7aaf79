import Chain
import Config
import Foundation
import LogStore
import Logging

/// The supervisor's chain work: publish each miner's axon at start and reload (never when a
/// worker restarts: every serve restarts the chain's rate-limit timer), retry a rate-limited
/// serve once the limit has passed and a failed one with backoff, and rewrite each metagraph
/// snapshot once per tempo. Every attempt is a `chain_events` row; every good refresh also
/// records the standing of the subnet's configured hotkeys (`standing`).
public actor ChainDuties {
    private let log: LogWriter
    private let logger: Logger
    /// Serve steps under way, by miner, and whether one is only waiting to retry a failure.
    private var serving: [String: (miner: MinerConfig, id: UUID, task: Task<Void, Never>, backingOff: Bool)] = [:]
    private var refreshing: [MetagraphTarget: Task<Void, Never>] = [:]
    /// Seconds between head checks while a rate limit runs out (one block); tests shorten it.
    private let pollSeconds = ProcessInfo.processInfo.environment["MINERS_CHAIN_POLL_SECONDS"].flatMap(Double.init) ?? AxonPublisher.blockSeconds
    /// The first wait before retrying a failed serve (doubling to 15 minutes); tests shorten it.
    private let retrySeconds = ProcessInfo.processInfo.environment["MINERS_CHAIN_RETRY_SECONDS"].flatMap(Double.init) ?? 30
    /// Overrides tempo × 12 s between refreshes (tests only).
    private let refreshSeconds = ProcessInfo.processInfo.environment["MINERS_CHAIN_REFRESH_SECONDS"].flatMap(Double.init)

    public init(log: LogWriter, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    /// Writes every snapshot file that does not exist yet, before the workers that read it
    /// start (a worker refuses to start without its file).
    public func prepare(_ config: MinersConfig) async {
        for target in MetagraphTarget.all(config) where !FileManager.default.fileExists(atPath: target.path) {
            let (record, standing) = await target.update()
            report(record)
            for row in standing { log.record(row) }
        }
    }

    /// Brings the duties in line with a config: runs the serve step of every miner with an
    /// `external_ip` (it sends nothing when the chain already has the axon) unless one with the
    /// same settings is under way, and starts and stops refresh loops.
    public func apply(_ config: MinersConfig) {
        let publishing = config.miners.filter { $0.externalAxon != nil }
        for (name, step) in serving where !publishing.contains(where: { $0.name == name }) {
            step.task.cancel()
            serving.removeValue(forKey: name)
        }
        for miner in publishing {
            // A step with the same settings goes on, unless it only waits to retry a failure:
            // a reload is the operator saying "try now".
            if let step = serving[miner.name], !step.backingOff, step.miner.externalAxon == miner.externalAxon,
               step.miner.chain == miner.chain, step.miner.hotkey == miner.hotkey { continue }
            serving[miner.name]?.task.cancel()
            let id = UUID()
            serving[miner.name] = (miner, id, Task { await self.serve(miner, id: id) }, false)
        }
        let targets = Set(MetagraphTarget.all(config))
        for (target, task) in refreshing where !targets.contains(target) {
            task.cancel()
            refreshing.removeValue(forKey: target)
        }
        for target in targets where refreshing[target] == nil {
            refreshing[target] = Task { await self.refreshLoop(target) }
        }
    }

    public func stop() {
        for step in serving.values { step.task.cancel() }
        for task in refreshing.values { task.cancel() }
        serving = [:]
        refreshing = [:]
    }

    /// Serves until the chain has the axon: while the chain says "too soon" (error 12) it
    /// waits for the block it names; after any other failure (an unreachable node, a hotkey not
    /// registered yet) it tries again after 30 s, 1 min, … up to every 15 minutes. Each attempt
    /// compares first, and a refused transaction neither costs a fee nor touches the rate limit.
    private func serve(_ miner: MinerConfig, id: UUID) async {
        defer { if serving[miner.name]?.id == id { serving.removeValue(forKey: miner.name) } }
        var backoff = retrySeconds
        while !Task.isCancelled {
            let result = await MinerServe.run(miner, dryRun: false)
            report(result.record)
            switch result.outcome {
            case .rateLimited(let retryAt, _)?:
                await MinerServe.waitForBlock(retryAt, chain: miner.chain, poll: pollSeconds)
            case .failed?, nil:
                if serving[miner.name]?.id == id { serving[miner.name]?.backingOff = true }
                try? await Task.sleep(for: .seconds(backoff))
                if serving[miner.name]?.id == id { serving[miner.name]?.backingOff = false }
                backoff = min(backoff * 2, 900)
            default:
                return
            }
        }
    }

    /// Rewrites the snapshot when it is a tempo old (as the file itself says), and after a
    /// failure retries within a minute while the last good file stays in place.
    private func refreshLoop(_ target: MetagraphTarget) async {
        while !Task.isCancelled {
            let due = dueIn(target)
            if due > 0 {
                try? await Task.sleep(for: .seconds(due))
                continue
            }
            let (record, standing) = await target.update()
            report(record)
            for row in standing { log.record(row) }
            if record.outcome != "written" { try? await Task.sleep(for: .seconds(min(60, refreshSeconds ?? 60))) }
        }
    }

    /// Seconds until the file is one tempo (plus a block) old; 0 when missing or unreadable.
    private func dueIn(_ target: MetagraphTarget) -> Double {
        guard let snapshot = try? ChainMetagraph.read(from: target.path),
              let modified = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.modificationDate] as? Date else { return 0 }
        let interval = refreshSeconds ?? Double(snapshot.tempo + 1) * AxonPublisher.blockSeconds
        return interval - Date().timeIntervalSince(modified)
    }

    private func report(_ record: ChainEventRecord) {
        log.record(record)
        let subject = record.kind == .serve ? "miner '\(record.miner ?? "-")'" : "metagraph \(record.path ?? "-")"
        let text = "\(subject): \(record.outcome): \(record.detail ?? "")"
        if record.outcome == "failed" { logger.error("\(text)") } else { logger.notice("\(text)") }
    }
}
