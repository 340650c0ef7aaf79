import ArgumentParser
import Config
import Foundation
import GRDB
import LogStore
import Simulator
import Supervisor

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the live workers of a supervisor and what the log says about them.",
        discussion: """
            Columns: STATE is starting, running, backing-off (waiting to restart), crash-looping \
            (too many restarts: stopped until the cooldown is over, restart.crash_loop_cooldown, \
            with the time to the next try), stopping or stopped; UPTIME of the current \
            process; RESTARTS since the supervisor started it; LAST EXIT with its code or \
            signal; REQ/5M and TIMEOUTS/5M count the logged requests (rejections excluded) and \
            worker-side timeouts of the last five minutes. Below the table, worker output lines \
            the supervisor could not write to a log file or echo to its terminal (a full disk, \
            a closed or paused terminal), counted, never fatal. Without a running supervisor it \
            says so and shows what the database knows. With --config (and no analysis), a \
            second table reads the Prometheus metrics of each model server the miners use \
            (backend.metrics_url, default /metrics at base_url without /v1), all at once, each \
            within 2 s: SERVER vllm, sglang, llamacpp or tgi (by its metric names), RUNNING and \
            WAITING requests (summed over models), KV CACHE in use (the fullest); or STATE \
            unreachable (refused, no answer) or no metrics (another HTTP status, or no known \
            metric); `backends` in --json.

            \(StandingFormat.help)

            With --watch the same is redrawn in place every --interval seconds (default 2, \
            0.5 to 3600; on a terminal the alternate screen, restored on Ctrl-C; otherwise \
            frames one after another, a blank line between), with two more columns for each \
            worker and service: CPU% of one core over the last interval and RSS MiB (the \
            proportional set size), both of the process and its descendants; `-` for CPU on the \
            first frame and for a process that is gone. Without a supervisor the frame says so \
            and the watch goes on until it is back.

            With --since, --from/--to or --by it also analyses the log of that window, grouped \
            (default by miner), over every --db given (merged): REQ requests; COMPLETE, \
            PARTIAL (at least one batch, then the worker's deadline), EMPTY-TO (deadline before \
            any batch), ERROR (backend failed), GONE (client left), REJECTED; TTFB time to the \
            first batch, p50/p95/p99 in ms; DELIVERED mean share of generated items that were \
            sent; FINAL share of streamed answers in which "the final answer is:" reached the \
            wire (what a cut answer still earns); SENT-BEFORE-TO items that reached the wire in \
            answers the deadline cut, UNSENT items generated and never sent; B/REQ batches per \
            request; >N batches over --large-batch items; GAP mean time between batches; \
            REQ/MIN; REJ% rejection rate; BUDGET mean timeout in force. --json and --csv carry \
            every figure, with rejections by reason.
            """
    )

    @OptionGroup var target: ControlTarget

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Print the analysis as CSV.")
    var csv = false

    @Option(name: .long, help: "Analyse the last stretch of time: 30m, 1h, 24h, 7d.")
    var since: String?

    @Option(name: .long, help: "Analyse from this time: Unix seconds or ISO 8601 (2026-11-25T03:00:00Z).")
    var from: String?

    @Option(name: .long, help: "Analyse up to this time (default now).")
    var to: String?

    @Option(name: .long, help: "Group the analysis by miner, hotkey, backend, batch-size, validator, host (comma-separated; host: of a postgres:// --db).")
    var by: String?

    @Option(name: .long, help: "Only these miners (comma-separated).") var miner: String?
    @Option(name: .long, help: "Only these hosts (comma-separated; fleet.host of a postgres:// --db).") var host: String?
    @Option(name: .long, help: "Only these validator hotkeys (comma-separated).") var validator: String?
    @Option(name: .long, help: "Only these backends (comma-separated).") var backend: String?
    @Option(name: .customLong("batch-size"), help: "Only these batch sizes (comma-separated).") var batchSize: String?

    @Option(name: .long, help: "Count batches with more items than this (SN1 penalises chunks over 200 tokens).")
    var largeBatch = 200

    @Option(name: .long, help: "Show a stored simulation run (miners matrix, miners simulate --db) ranked again: its id, or 'latest'.")
    var run: String?

    @Flag(name: .long, help: "Redraw the live table in place every --interval seconds, with each worker's and service's CPU% and RSS, until Ctrl-C.")
    var watch = false

    @Option(name: .long, help: "Seconds between the frames of --watch (0.5 to 3600; default 2).")
    var interval: Double?

    var wantsAnalysis: Bool { since != nil || from != nil || by != nil || csv }

    func analysisQuery(now: Double) throws -> RequestAnalysis.Query {
        func time(_ text: String) throws -> Double {
            if let seconds = Double(text) { return seconds }
            if let date = ISO8601DateFormatter().date(from: text) { return date.timeIntervalSince1970 }
            throw ValidationError("'\(text)' is not a time: give Unix seconds or ISO 8601, e.g. 2026-11-25T03:00:00Z")
        }
        let end = try to.map(time) ?? now
        var start = try from.map(time) ?? end - 3600
        if let since { start = end - (try secondsOf(since: since)) }
        var query = RequestAnalysis.Query(from: start, to: end)
        query.largeBatch = largeBatch
        func list(_ text: String?) -> [String] { text.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? [] }
        if let by {
            query.groupBy = try list(by).map { name in
                guard let dimension = RequestAnalysis.Dimension(rawValue: name) else {
                    throw ValidationError("--by takes \(RequestAnalysis.Dimension.allCases.map(\.rawValue).joined(separator: ", ")); got '\(name)'")
                }
                return dimension
            }
        }
        query.filters = [.miner: list(miner), .validator: list(validator), .backend: list(backend), .batchSize: list(batchSize), .host: list(host)]
        return query
    }

    func run() async throws {
        if watch { return try await watchStatus() }
        try await show(sampler: nil)
    }

    /// The status; with a sampler (--watch), each process's CPU and memory too.
    func show(sampler: ProcessUsageSampler?) async throws {
        let databasePath = try FleetStatus.localDatabase(target)
        if let run { return try showRun(run, databasePath: databasePath) }
        let now = Date().timeIntervalSince1970
        // Read while the database is queried; the analysis of a window does not show it.
        let backendMiners = wantsAnalysis ? [] : target.loadedConfig?.miners ?? []
        async let scraped = BackendHealthScraper().scrape(backendMiners)
        var live: SupervisorStatus?
        var liveError: String?
        do {
            live = try await ControlClient(socketPath: databasePath + ".control.sock").status()
        } catch {
            liveError = "\(error)"
        }
        var activity: [String: StatusQueries.Activity] = [:]
        var lastEvents: [String: LifecycleRecord] = [:]
        var knownWorkers: [String] = []
        var refusals: [StatusQueries.Refusals] = []
        var losses: [StatusQueries.Loss] = []
        var chain: [ChainStatus] = []
        var standing: [HotkeyStanding] = []
        var alerts: [AlertRecord] = []
        var replication: ReplicationProgress.Status?  // fleet: what is not yet in PostgreSQL
        if FileManager.default.fileExists(atPath: databasePath) {
            let database = try LogDatabase.open(path: databasePath)
            activity = try StatusQueries.activity(database, since: now - 300)
            refusals = try StatusQueries.refusals(database, since: now - 300)
            losses = try StatusQueries.losses(database, since: now - 86_400)
            lastEvents = try StatusQueries.lastEvents(database)
            knownWorkers = try StatusQueries.workers(database)
            chain = try ChainStatus.latest(database)
            standing = try HotkeyStanding.all(database)
            alerts = try AlertRecord.firing(database)
            replication = try await database.read { try ReplicationProgress.status($0, now: now) }
        }

        var rows: [MinerStatus] = live?.miners ?? []
        if live == nil {
            let configured = target.loadedConfig?.miners ?? []
            let names = configured.map(\.name) + knownWorkers.filter { name in !configured.contains { $0.name == name } }
            rows = names.map { name in
                let miner = configured.first { $0.name == name }
                let last = lastEvents[name]
                return MinerStatus(
                    name: name, hotkey: miner?.hotkey ?? "-", host: miner?.host ?? "-", port: miner?.port ?? 0,
                    backend: miner?.backend.kind ?? "-", batchSize: miner?.streamingBatchSize ?? 0,
                    state: last?.event == .crashLoop ? .crashLooping : .stopped, pid: nil, startedAt: nil, restarts: 0,
                    lastExit: last.flatMap { $0.event == .exit ? WorkerExit(record: $0)?.description : $0.detail },
                    lastExitAt: last?.at, nextStartAt: nil
                )
            }
        }

        var analysis: [RequestAnalysis.Figures]?
        var coverage: RequestAnalysis.Coverage?
        var query: RequestAnalysis.Query?
        if wantsAnalysis {
            let window = try analysisQuery(now: now)
            (analysis, coverage) = try await FleetStatus.analysis(target.db.isEmpty ? [databasePath] : target.db, window)
            query = window
        }
        if csv, let analysis, let query {
            print(AnalysisFormat.csv(analysis, query))
            return
        }
        let backends = await scraped

        if json {
            let output = StatusOutput(
                supervisor: live.map {
                    .init(pid: $0.pid, config: $0.config, startedAt: $0.startedAt, stderrLinesLost: $0.stderrLinesLost, stderrError: $0.stderrError)
                },
                supervisorError: liveError,
                analysis: analysis,
                analysisSources: coverage,
                refusals5m: refusals.map { .init(validator: $0.validator, status: $0.status, reason: $0.reason, count: $0.count) },
                logLosses24h: losses,
                chain: chain,
                standing: standing,
                alertsFiring: alerts,
                replication: replication,
                backends: backendMiners.isEmpty ? nil : backends,
                services: live?.services,
                miners: rows.map { row in
                    StatusOutput.Row(
                        miner: row, requests5m: activity[row.name]?.requests ?? 0, timeouts5m: activity[row.name]?.timeouts ?? 0
                    )
                }
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        if let live {
            print("supervisor pid \(live.pid), up \(duration(now - live.startedAt)), config \(live.config), database \(live.database)")
            if live.stderrLinesLost > 0 {
                print("its own log lines lost on the way to its standard error: \(live.stderrLinesLost) (\(PrintableText.line(live.stderrError ?? "-")))")
            }
        } else {
            print("no supervisor is running for \(databasePath): \(PrintableText.line(liveError ?? ""))")
            print("what the database knows:")
        }
        let usage = sampler?.sample(rows.compactMap(\.pid) + (live?.services ?? []).compactMap(\.pid))
        if let services = live?.services, !services.isEmpty {
            print("services:")
            let table = services.map { service -> [String] in
                var state = service.state.rawValue
                if let note = service.note { state += " (\(note))" }
                if let next = service.nextStartAt { state += " (\(duration(max(0, next - now))))" }
                var check = "-"
                if let last = service.lastCheck {
                    let ago = duration(max(0, now - last.at))
                    check = "\(last.healthy ? "ok" : "failed"): \(last.answer) in \(Int(last.seconds * 1000)) ms, \(ago) ago"
                }
                let gpus = service.gpus.isEmpty ? "-" : service.gpus.map(String.init).joined(separator: ",")
                let uptime = service.startedAt.map { duration(now - $0) } ?? "-"
                let miners = service.dependents.isEmpty ? "-" : service.dependents.joined(separator: ",")
                return [service.name, String(service.port), gpus, service.pid.map(String.init) ?? "-"] + usageCells(service.pid, usage) + [state, uptime,
                        String(service.restarts), check, miners]
            }
            print(align([["NAME", "PORT", "GPU", "PID"] + usageHeader(usage) + ["STATE", "UPTIME", "RESTARTS", "LAST CHECK", "MINERS"]] + table))
            print("")
        }
        let header = ["NAME", "HOTKEY", "PORT", "BACKEND", "BATCH", "PID"] + usageHeader(usage) + ["STATE", "UPTIME", "RESTARTS", "LAST EXIT", "REQ/5M", "TIMEOUTS/5M"]
        let table = rows.map { row -> [String] in
            let recent = activity[row.name] ?? .init()
            return [
                row.name, abbreviate(row.hotkey), row.port == 0 ? "-" : String(row.port), row.backend,
                row.batchSize == 0 ? "-" : String(row.batchSize), row.pid.map(String.init) ?? "-",
            ] + usageCells(row.pid, usage) + [
                row.state.rawValue + (row.nextStartAt.map { next in
                    let wait = duration(max(0, next - now))
                    return row.state == .crashLooping ? " (next try in \(wait))" : " (\(wait))"
                } ?? ""),
                row.startedAt.map { duration(now - $0) } ?? "-", String(row.restarts),
                row.lastExit.map { "\($0) \(row.lastExitAt.map { duration(now - $0) + " ago" } ?? "")" } ?? "-",
                String(recent.requests), String(recent.timeouts),
            ]
        }
        print(align([header] + table))
        if !backends.isEmpty {
            print("\nbackends (their /metrics, now):")
            print(align([["ENDPOINT", "MINERS", "SERVER", "RUNNING", "WAITING", "KV CACHE", "STATE"]] + backends.map { backend in
                [backend.endpoint, backend.miners.joined(separator: ","), backend.server.rawValue,
                 count(backend.running), count(backend.waiting),
                 backend.kvCacheUsage.map { String(format: "%.1f%%", $0 * 100) } ?? "-",
                 stateText(backend)]
            }))
        }
        let waiting = rows.filter { $0.notReady != nil }
        if !waiting.isEmpty {
            print("\nminers answering 503 backend_not_ready, their services not being ready:")
            print(align([["NAME", "WHY"]] + waiting.map { [$0.name, $0.notReady ?? "-"] }))
        }
        let lossy = rows.filter { $0.logLinesLost > 0 || $0.echoLinesLost > 0 }
        if !lossy.isEmpty {
            print("\nworker output lines that could not be written, since the supervisor started:")
            print(align([["NAME", "LOG FILE", "ECHO", "LAST ERROR"]] + lossy.map { row in
                [row.name, String(row.logLinesLost), String(row.echoLinesLost), row.logError ?? row.echoError ?? "-"]
            }))
        }
        if !refusals.isEmpty {
            print("\nrefused in the last 5 minutes, by validator:")
            print(align([["VALIDATOR", "STATUS", "REASON", "COUNT"]] + refusals.map {
                [$0.validator, String($0.status), $0.reason, String($0.count)]
            }))
        }
        if !losses.isEmpty {
            print("\nlog rows dropped in the last 24 hours while the database could not be written:")
            print(align([["WORKER", "DROPPED", "FAILING SINCE", "WRITING AGAIN", "ERROR"]] + losses.map {
                [$0.worker, String($0.lost), $0.since.map { Date(timeIntervalSince1970: $0).formatted(.iso8601) } ?? "-",
                 Date(timeIntervalSince1970: $0.at).formatted(.iso8601), $0.error ?? "-"]
            }))
        }
        if !chain.isEmpty {
            print("\non chain (the last serve of each miner, the last refresh of each metagraph snapshot):")
            print(align([["WHAT", "NETWORK", "NETUID", "OUTCOME", "BLOCK", "WHEN", "DETAIL"]] + chain.map { item in
                let event = item.event
                let what = event.kind == .serve ? "serve \(event.miner ?? "-")" : "metagraph \(event.path ?? "-")"
                var detail = event.detail ?? "-"
                if event.outcome == "failed", event.kind == .metagraph {
                    detail += item.lastWritten.map { "; last good snapshot \(duration(now - $0.at)) ago (block \($0.block ?? 0))" } ?? "; no good snapshot yet"
                }
                return [what, event.network, String(event.netuid), event.outcome, event.block.map(String.init) ?? "-",
                        duration(max(0, now - event.at)) + " ago", detail]
            }))
        }
        if !standing.isEmpty {
            print("\nhotkey standing at the last metagraph refresh:")
            print(align(StandingFormat.table(standing, now: now, duration: duration)))
        }
        if !alerts.isEmpty {
            print("\nalerts firing (as last posted to the webhooks of alerts:):")
            print(align([["ALERT", "SUBJECT", "SINCE", "DETAIL"]] + alerts.map { [$0.kind, $0.subject, duration(max(0, now - $0.since)) + " ago", String($0.detail.prefix(120))] }))
        }
        if let replication {
            // fleet: the rows this host has not yet copied to the fleet's PostgreSQL.
            let success = replication.lastSuccessAt.map { duration(max(0, now - $0)) + " ago" } ?? "never"
            print("\nfleet replication (host \(replication.host ?? "-")): lag \(duration(replication.lagSeconds)), \(replication.backlog) rows waiting, last success \(success)"
                + (replication.drainRate.map { String(format: ", last backlog drained at %.0f rows/s", $0) } ?? ""))
            if let error = replication.lastError, let at = replication.lastErrorAt, at > (replication.lastSuccessAt ?? 0) {
                print("last error \(duration(max(0, now - at))) ago: \(PrintableText.line(error))")
            }
            print(align([["TABLE", "WAITING", "OLDEST WAITING", "REPLICATED"]] + replication.tables.map {
                [$0.table, String($0.backlog), $0.oldestUnreplicatedAt.map { duration(max(0, now - $0)) + " ago" } ?? "-", String($0.replicated)]
            }))
        }
        if let analysis, let query {
            print("\nrequests from \(Date(timeIntervalSince1970: query.from).formatted(.iso8601)) to \(Date(timeIntervalSince1970: query.to).formatted(.iso8601)):")
            if let note = coverage?.note { print(note) }
            print(align(AnalysisFormat.table(analysis, query)))
        }
    }

    func stateText(_ backend: BackendHealth) -> String {
        switch backend.state {
        case .ok: backend.detail.map { "ok (\($0))" } ?? "ok"
        case .noMetrics: "no metrics"
        case .httpError: "no metrics (\(backend.detail ?? "HTTP error"))"
        case .unreachable: "unreachable (\(backend.detail ?? "-"))"
        }
    }

    /// A gauge of requests: whole as the servers count them, fractional only if written so.
    func count(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value == value.rounded() && abs(value) < 1e15 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    func abbreviate(_ hotkey: String) -> String {
        hotkey.count > 12 ? "\(hotkey.prefix(6))…\(hotkey.suffix(4))" : hotkey
    }

    func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<60: String(format: "%.0fs", seconds)
        case ..<3600: String(format: "%.0fm%02.0fs", (seconds / 60).rounded(.down), seconds.truncatingRemainder(dividingBy: 60))
        case ..<86400: String(format: "%.0fh%02.0fm", (seconds / 3600).rounded(.down), (seconds / 60).truncatingRemainder(dividingBy: 60).rounded(.down))
        default: String(format: "%.0fd%02.0fh", (seconds / 86400).rounded(.down), (seconds / 3600).truncatingRemainder(dividingBy: 24).rounded(.down))
        }
    }
}

extension StatusCommand {
    func showRun(_ run: String, databasePath: String) throws {
        guard FileManager.default.fileExists(atPath: databasePath) else { throw ValidationError("no database at \(databasePath)") }
        let store = try SimulationStore(path: databasePath)
        guard let id = run == "latest" ? try store.latestRun() : Int64(run) else {
            throw ValidationError(run == "latest" ? "\(databasePath) holds no simulation run" : "--run takes a run id or 'latest', got '\(run)'")
        }
        guard let record = try store.run(id) else { throw ValidationError("\(databasePath) has no run \(id)") }
        let ranked = record.rankedCells
        if json {
            print(try MatrixFormat.json(run: id, ranked))
            return
        }
        let started = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: record.startedAt))
        print("run \(id): \(record.kind) \(record.source ?? "") at \(started); load \(record.load ?? "-")\n")
        print(MatrixFormat.table(ranked))
    }
}

struct StatusOutput: Encodable {
    struct Supervisor: Encodable {
        var pid: Int32
        var config: String
        var startedAt: Double
        /// The supervisor's own log lines that did not reach its standard error.
        var stderrLinesLost: Int
        var stderrError: String?
    }
    struct Row: Encodable {
        var miner: MinerStatus
        var requests5m: Int
        var timeouts5m: Int
    }
    var supervisor: Supervisor?
    var supervisorError: String?
    var analysis: [RequestAnalysis.Figures]?
    /// Which part of the window came from hourly rollups (retention deleted its raw rows).
    var analysisSources: RequestAnalysis.Coverage?
    var refusals5m: [Refusal]
    var logLosses24h: [StatusQueries.Loss]
    var chain: [ChainStatus]
    /// Each miner's hotkey standing at the last metagraph refresh (`StandingFormat`).
    var standing: [HotkeyStanding]
    /// The alerts whose newest message to the webhooks says firing (`alerts:`).
    var alertsFiring: [AlertRecord]
    /// fleet: rows not yet replicated to PostgreSQL, per table (absent: never replicated).
    var replication: ReplicationProgress.Status?
    /// The model servers of a --config's miners; absent without one, or with an analysis.
    var backends: [BackendHealth]?
    /// The services the supervisor runs; absent without a supervisor.
    var services: [ServiceStatus]?
    var miners: [Row]

    struct Refusal: Encodable {
        var validator: String
        var status: Int
        var reason: String
        var count: Int
    }
}

extension WorkerExit {
    init?(record: LifecycleRecord) {
        if let code = record.exitCode {
            self = .exited(code: code)
        } else if let signal = record.signal {
            self = .signaled(signal)
        } else {
            return nil
        }
    }
}

/// The newest chain event of a miner or snapshot file, and for a snapshot the last good write.
struct ChainStatus: Encodable {
    var event: ChainEventRecord
    var lastWritten: ChainEventRecord?

    static func latest(_ database: DatabaseQueue) throws -> [ChainStatus] {
        // A database from before migration 0010 has no chain events to show.
        guard try database.read({ try $0.tableExists("chain_events") }) else { return [] }
        return try ChainEventRecord.latest(database).map { event in
            ChainStatus(
                event: event,
                lastWritten: event.kind == .metagraph && event.outcome != "written"
                    ? try event.path.flatMap { try ChainEventRecord.lastWritten(database, path: $0) } : nil
            )
        }
    }
}
