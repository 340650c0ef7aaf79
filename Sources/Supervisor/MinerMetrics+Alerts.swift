import LogStore
import Prometheus

extension MinerMetrics {
    /// `miners_alerts_firing{kind}`: the alerts firing (as last posted to the webhooks), every
    /// kind from 0 so that a rule can watch it from the first scrape.
    func setAlertGauges() throws {
        let firing = try AlertRecord.firing(database)
        for kind in AlertKind.conditions {
            registry.makeGauge(
                descriptor: .init(namespace: "miners", metricName: "alerts_firing", unitName: "", helpText: "Alerts firing, by kind (alerts: in the config)"),
                labels: [("kind", kind.rawValue)]
            ).set(to: Double(firing.filter { $0.kind == kind.rawValue }.count))
        }
    }
}
