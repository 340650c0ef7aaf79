import LogStore
import Prometheus

extension MinerMetrics {
    /// fleet: `miners_replication_lag_seconds` (age of the oldest row not yet in the fleet's
    /// PostgreSQL, 0 when none waits) and `miners_replication_backlog_rows{table}`. Absent
    /// while replication never ran on this database, and gone once it is off (`fleet:`
    /// removed): a lag left behind would look like an outage.
    func setReplicationGauges() throws {
        guard let status = try database.read({ try ReplicationProgress.status($0) }) else {
            replicationGauges.forEach(registry.unregisterGauge)
            replicationGauges = []
            return
        }
        let lag = registry.makeGauge(
            descriptor: .init(namespace: "miners", metricName: "replication_lag", unitName: "seconds",
                              helpText: "Age of the oldest log row not yet replicated to the fleet's PostgreSQL (fleet:)")
        )
        lag.set(to: status.lagSeconds)
        replicationGauges = [lag]
        for table in status.tables {
            let backlog = registry.makeGauge(
                descriptor: .init(namespace: "miners", metricName: "replication_backlog", unitName: "rows",
                                  helpText: "Log rows not yet replicated to the fleet's PostgreSQL, by table (fleet:)"),
                labels: [("table", table.table)]
            )
            backlog.set(to: Double(table.backlog))
            replicationGauges.append(backlog)
        }
    }
}
