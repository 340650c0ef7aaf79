/// A webhook's budget of messages per hour, over a sliding hour. What is over the budget is
/// held back and counted by kind; once there is room, one summary says what was.
public struct RateLimit: Sendable {
    public let perHour: Int
    private var sent: [Double] = []
    public private(set) var held: [AlertKind: Int] = [:]
    /// Unix seconds of the first message held back since the last summary.
    private var heldSince: Double?

    public init(perHour: Int) {
        self.perHour = max(1, perHour)
    }

    /// True if a message may go now (and counts it); else it is counted as held back.
    public mutating func admit(_ kind: AlertKind, now: Double) -> Bool {
        if take(now) { return true }
        held[kind, default: 0] += 1
        if heldSince == nil { heldSince = now }
        return false
    }

    /// The summary of what was held back, once the budget has room for it.
    public mutating func summary(now: Double, host: String) -> AlertMessage? {
        guard !held.isEmpty, let since = heldSince, take(now) else { return nil }
        let counts = held.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) ×\($0.value)" }
        let total = held.values.reduce(0, +)
        held = [:]
        heldSince = nil
        let alert = Alert(
            kind: .rateLimited, subject: "", noun: "",
            detail: "\(total) messages were not sent (at most \(perHour) an hour to this webhook): \(counts.joined(separator: ", "))"
        )
        return AlertMessage(alert: alert, state: .firing, since: since, at: now, host: host)
    }

    private mutating func take(_ now: Double) -> Bool {
        sent.removeAll { $0 <= now - 3600 }
        guard sent.count < perHour else { return false }
        sent.append(now)
        return true
    }
}
