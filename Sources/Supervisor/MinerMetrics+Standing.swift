import LogStore
import Prometheus

extension MinerMetrics {
    static let standingHelp = [
        "incentive": "The hotkey's incentive at the last metagraph refresh, 0..1",
        "emission_per_day": "Emission per epoch x 7200 / (tempo + 1): per day at 12 s a block",
        "stake": "The hotkey's total stake on the subnet (metagraph.S)",
        "registered": "0 once two refreshes in a row did not find the hotkey on its subnet",
        "immunity_blocks": "Blocks of immunity from pruning left",
    ]

    /// The `miners_hotkey_*` gauges of the running miners with standing rows. One read without
    /// the hotkey changes nothing (the values stay those of its last registered read); two in a
    /// row set `registered` and the rest to 0.
    func setStandingGauges(miners: [String]) throws {
        for standing in try HotkeyStanding.all(database) where miners.contains(standing.latest.miner) {
            let row = standing.state == .deregistered ? nil : standing.lastRegistered
            let values: [(String, Double?)] = [
                ("incentive", row?.incentive), ("emission_per_day", row?.emissionPerDay), ("stake", row?.stake),
                ("registered", standing.state == .deregistered ? 0 : 1), ("immunity_blocks", row?.immunityLeft.map(Double.init)),
            ]
            for (name, value) in values {
                registry.makeGauge(
                    descriptor: .init(namespace: "miners", metricName: "hotkey_" + name, unitName: "", helpText: Self.standingHelp[name] ?? ""),
                    labels: [("miner", standing.latest.miner)]
                ).set(to: value ?? 0)
            }
        }
    }
}
