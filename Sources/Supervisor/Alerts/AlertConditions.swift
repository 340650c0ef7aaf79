import Config
import Foundation

/// Turns one check's view — the supervisor's status, the log's facts, the disks — into the
/// conditions wrong now. Pure but for one memory: since when each miner has been up, so that
/// "no request for 30 minutes" waits until it has been up for 30 minutes.
public struct AlertConditions: Sendable {
    /// Losses written before this (the monitor's start) are old news.
    public let startedAt: Double
    /// A loss keeps its alert firing this long after its row; then it is resolved.
    public var lossQuiet: Double
    private var upSince: [String: Double] = [:]

    public init(startedAt: Double, lossQuiet: Double = 600) {
        self.startedAt = startedAt
        self.lossQuiet = lossQuiet
    }

    /// The first loss row that still counts.
    public func lossesSince(_ now: Double) -> Double { max(startedAt, now - lossQuiet) }

    /// The conditions of the status alone: crash loops and unhealthy services.
    public static func ofProcesses(_ status: SupervisorStatus, now: Double) -> [Alert] {
        var alerts: [Alert] = []
        func looping(_ noun: String, _ name: String, next: Double?, lastExit: String?) {
            var detail = "restarted too often, stopped until its cooldown ends"
            if let next { detail += " (next try in \(AlertMessage.duration(next - now)))" }
            if let lastExit { detail += "; last exit: \(lastExit)" }
            alerts.append(Alert(kind: .crashLoop, subject: name, noun: noun, detail: detail))
        }
        for miner in status.miners where miner.state == .crashLooping {
            looping("miner", miner.name, next: miner.nextStartAt, lastExit: miner.lastExit)
        }
        for service in status.services {
            if service.state == .crashLooping {
                looping("service", service.name, next: service.nextStartAt, lastExit: service.lastExit)
                continue
            }
            // Unhealthy: a failed check, or restarted for its health and not healthy since.
            let restartedForHealth = [.starting, .backingOff].contains(service.state) && service.note != nil
            guard service.state == .unhealthy || restartedForHealth else { continue }
            var detail = service.state == .unhealthy ? "its health check fails" : service.note ?? ""
            if service.state == .unhealthy, let answer = service.lastCheck?.answer { detail += ": \(answer)" }
            if !service.dependents.isEmpty { detail += "; miners refusing with 503 meanwhile: \(service.dependents.joined(separator: ", "))" }
            alerts.append(Alert(kind: .serviceUnhealthy, subject: service.name, noun: "service", detail: detail))
        }
        return alerts
    }

    /// Every condition wrong now.
    public mutating func evaluate(
        status: SupervisorStatus, config: AlertsConfig, facts: AlertFacts?, disks: [DiskSpace], now: Double
    ) -> [Alert] {
        var alerts = Self.ofProcesses(status, now: now)
        let miners = Set(status.miners.map(\.name))
        // Up: in the config and not stopped by hand; a restart does not reset it.
        upSince = upSince.filter { miners.contains($0.key) }
        for miner in status.miners {
            if [.stopped, .stopping].contains(miner.state) { upSince[miner.name] = nil } else if upSince[miner.name] == nil { upSince[miner.name] = now }
        }
        if let facts {
            if let limit = config.noRequests {
                for miner in status.miners {
                    guard let since = upSince[miner.name] else { continue }
                    let last = facts.lastRequest[miner.name]
                    guard now - max(since, last ?? since) >= limit else { continue }
                    let detail = last.map { "no validator request (not refused) for \(AlertMessage.duration(now - $0)), since \(Self.clock($0))" }
                        ?? "no validator request (not refused) for at least \(AlertMessage.duration(now - max(since, now - limit)))"
                    alerts.append(Alert(kind: .noRequests, subject: miner.name, noun: "miner", detail: detail + " (alerts.no_requests: \(AlertMessage.duration(limit)))"))
                }
            }
            for loss in facts.losses where loss.lost > 0 {
                var detail = "\(loss.lost) log rows dropped while the database could not be written, from \(Self.clock(loss.first)) to \(Self.clock(loss.last))"
                if let error = loss.error { detail += ": \(error.prefix(300))" }
                let subject = loss.worker ?? "supervisor"
                alerts.append(Alert(kind: .logRowsLost, subject: subject, noun: loss.worker == nil ? "process" : "miner", detail: detail))
            }
            for (miner, detail) in facts.failedServes.sorted(by: { $0.key < $1.key }) where miners.contains(miner) {
                alerts.append(Alert(kind: .serveFailed, subject: miner, noun: "miner", detail: "publishing its axon failed: \(detail.prefix(300))"))
            }
            for miner in status.miners where facts.deregistered.contains(miner.name) {
                alerts.append(Alert(kind: .deregistered, subject: miner.name, noun: "miner",
                                    detail: "hotkey \(miner.hotkey) not registered on the subnet at the last two metagraph refreshes"))
            }
        }
        if let threshold = config.diskFree {
            var devices = Set<UInt64>()
            let limit = threshold == threshold.rounded() ? String(Int(threshold)) : String(threshold)
            for disk in disks where devices.insert(disk.device).inserted && disk.freePercent < threshold {
                let free = String(format: "%.2f", disk.freePercent) + "% free (\(DiskSpace.size(disk.freeBytes)) of \(DiskSpace.size(disk.totalBytes)))"
                alerts.append(Alert(kind: .diskFull, subject: disk.path, noun: "file system of", detail: "\(free), below alerts.disk_free \(limit)%"))
            }
        }
        return alerts
    }

    /// `2025-01-31 14:05:09 UTC`
    static func clock(_ unix: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: unix))
    }
}
