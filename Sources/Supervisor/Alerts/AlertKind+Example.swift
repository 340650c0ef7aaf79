extension AlertKind {
    /// What `miners alerts test` sends for each kind.
    public var example: Alert {
        switch self {
        case .crashLoop: Alert(kind: self, subject: "example-miner", noun: "miner", detail: "restarted too often, stopped until its cooldown ends (next try in 5m); last exit: exit 1")
        case .serviceUnhealthy: Alert(kind: self, subject: "example-llm", noun: "service", detail: "its health check fails: HTTP 503; miners refusing with 503 meanwhile: example-miner")
        case .deregistered: Alert(kind: self, subject: "example-miner", noun: "miner", detail: "hotkey 5F… not registered on the subnet at the last two metagraph refreshes")
        case .noRequests: Alert(kind: self, subject: "example-miner", noun: "miner", detail: "no validator request (not refused) for 31m (alerts.no_requests: 30m)")
        case .logRowsLost: Alert(kind: self, subject: "example-miner", noun: "miner", detail: "120 log rows dropped while the database could not be written")
        case .serveFailed: Alert(kind: self, subject: "example-miner", noun: "miner", detail: "publishing its axon failed: the node did not answer")
        case .diskFull: Alert(kind: self, subject: "/var/lib/miners", noun: "file system of", detail: "3.10% free (1.2 GiB of 40.0 GiB), below alerts.disk_free 5%")
        case .rateLimited: Alert(kind: self, subject: "", noun: "", detail: "4 messages were not sent (at most 20 an hour to this webhook)")
        }
    }
}
