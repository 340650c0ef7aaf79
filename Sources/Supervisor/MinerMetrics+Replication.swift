import LogStore
import Prometheus

extension MinerMetrics {
    /// fleet: `miners_replication_lag_seconds` (age of the oldest row not yet in the fleet's
    /// PostgreSQL, 0 when none waits) and `miners_replication_backlog_rows{table}`. Absent
    /// while replication never ran on this database.
    func setReplicationGauges() throws {
        guard let status = try database.read({ try ReplicationProgress.status($0) }) else { return }
        registry.makeGauge(
            descriptor: .init(namespace: "miners", metricName: "replication_lag", unitName: "seconds",
                              helpText: "Age of the oldest log row not yet replicated to the fleet's PostgreSQL (fleet:)")
        ).set(to: status.lagSeconds)
        for table in status.tables {
            registry.makeGauge(
                descriptor: .init(namespace: "miners", metricName: "replication_backlog", unitName: "rows",
                                  helpText: "Log rows not yet replicated to the fleet's PostgreSQL, by table (fleet:)"),
                labels: [("table", table.table)]
            ).set(to: Double(table.backlog))
        }
    }
}
