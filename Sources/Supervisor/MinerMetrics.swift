import GRDB
import LogStore
import Prometheus

/// Prometheus metrics per miner, counted from the log rather than reported by the workers:
/// every worker already writes each request to the shared database, so the supervisor reads
/// the rows added since its last scrape and nothing new crosses a process boundary. Counters
/// start at the supervisor's start, as Prometheus expects of a process's counters.
public actor MinerMetrics {
    /// Time to first batch, seconds: validators' timeouts run from ~10 s (SN1) to ~17 s.
    public static let firstBatchBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 17, 25]

    let registry = PrometheusCollectorRegistry()
    let database: DatabaseQueue
    private var cursor: LogTail.Cursor
    /// fleet: the replication gauges shown, removed when replication is off.
    var replicationGauges: [Gauge] = []

    public init(database: DatabaseQueue, miners: [String], services: [String] = []) throws {
        self.database = database
        cursor = try LogTail.end(database)
        // Every miner's series exist from the start, at zero, so rates work from the first scrape.
        for miner in miners {
            for outcome in RequestRecord.outcomes {
                _ = counter("requests", miner, [("outcome", outcome)])
            }
            _ = counter("batches", miner)
            _ = counter("items_sent", miner)
            _ = counter("items_unsent", miner)
            _ = counter("bytes_sent", miner)
            _ = counter("final_answer_sent", miner)
            _ = counter("worker_restarts", miner)
            _ = counter("worker_crash_loops", miner)
            _ = firstBatchHistogram(miner)
        }
        for service in services { _ = serviceRestarts(service) }
    }

    /// Catches up with the log, sets the live gauges from `status`, and returns the exposition text.
    public func scrape(status: [MinerStatus], services: [ServiceStatus] = []) throws -> String {
        try catchUp()
        for service in services {
            let labels = [("service", service.name)]
            registry.makeGauge(
                descriptor: .init(namespace: "miners", metricName: "service_up", unitName: "", helpText: "1 while the service's health check passes"),
                labels: labels
            ).set(to: service.state == .running ? 1.0 : 0.0)
            registry.makeGauge(
                descriptor: .init(
                    namespace: "miners", metricName: "service_health", unitName: "seconds",
                    helpText: "How long the service's last health check took"
                ),
                labels: labels
            ).set(to: service.lastCheck?.seconds ?? 0)
        }
        for miner in status {
            registry.makeGauge(
                descriptor: .init(namespace: "miners", metricName: "worker_up", unitName: "", helpText: "1 while the worker is running"),
                labels: [("miner", miner.name)]
            ).set(to: miner.state == .running ? 1.0 : 0.0)
        }
        try setStandingGauges(miners: status.map(\.name))
        try setAlertGauges()
        try setReplicationGauges()  // fleet:
        return registry.emitToString()
    }

    /// Counts every row written since the last call.
    public func catchUp() throws {
        while true {
            let page = try LogTail.read(database, after: cursor)
            for request in page.requests { count(request) }
            for event in page.events { count(event) }
            guard page.cursor != cursor else { return }
            cursor = page.cursor
        }
    }

    private func count(_ request: LogTail.Request) {
        let miner = request.worker
        counter("requests", miner, [("outcome", request.outcome)]).increment(by: Int64(request.count))
        if request.outcome == "rejected" {
            counter("rejections", miner, [("status", String(request.status)), ("reason", request.reason ?? "")]).increment(by: Int64(request.count))
        }
        counter("batches", miner).increment(by: Int64(request.batches))
        counter("items_sent", miner).increment(by: Int64(request.itemsSent))
        counter("items_unsent", miner).increment(by: Int64(request.itemsUnsent))
        counter("bytes_sent", miner).increment(by: Int64(request.bytesSent))
        if request.finalAnswerSent { counter("final_answer_sent", miner).increment() }
        if let delay = request.timeToFirstBatch { firstBatchHistogram(miner).record(delay) }
    }

    private func count(_ event: LogTail.Event) {
        if let service = event.service, event.event == "backoff" || event.event == "crash_loop" {
            if event.event == "backoff" { serviceRestarts(service).increment() }
            return
        }
        guard let miner = event.miner else { return }
        switch event.event {
        case "backoff": counter("worker_restarts", miner).increment()
        case "crash_loop": counter("worker_crash_loops", miner).increment()
        default: break
        }
    }

    /// Help text per counter; the registry insists it is the same at every registration.
    static let help = [
        "requests": "Requests by outcome (rejected: refused before streaming)",
        "rejections": "Refused requests by HTTP status and reason code",
        "batches": "Batches written to the socket",
        "items_sent": "Items (tokens) delivered",
        "items_unsent": "Items generated but never sent (dropped at a timeout)",
        "bytes_sent": "Answer bytes delivered",
        "final_answer_sent": "Responses in which 'the final answer is:' reached the wire",
        "worker_restarts": "Worker restarts after an unexpected exit",
        "worker_crash_loops": "Times the worker was left stopped for crash-looping",
    ]

    private nonisolated func counter(_ name: String, _ miner: String, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(
            descriptor: .init(namespace: "miners", metricName: name, unitName: "total", helpText: Self.help[name] ?? ""),
            labels: [("miner", miner)] + labels
        )
    }

    private nonisolated func serviceRestarts(_ service: String) -> Counter {
        registry.makeCounter(
            descriptor: .init(
                namespace: "miners", metricName: "service_restarts", unitName: "total",
                helpText: "Service restarts after an exit, a failed health check or max_rss"
            ),
            labels: [("service", service)]
        )
    }

    private nonisolated func firstBatchHistogram(_ miner: String) -> ValueHistogram {
        registry.makeValueHistogram(
            descriptor: .init(
                namespace: "miners", metricName: "time_to_first_batch", unitName: "seconds",
                helpText: "From receipt of the request to its first batch on the socket"
            ),
            labels: [("miner", miner)], buckets: Self.firstBatchBuckets
        )
    }
}
