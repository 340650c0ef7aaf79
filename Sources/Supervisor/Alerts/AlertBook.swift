/// The alerts firing, and what to post as conditions come and go: a new condition once, one
/// still there again at most every `repeatEvery`, one gone as resolved. Pure: the monitor
/// hands it each check's conditions and the time.
public struct AlertBook: Sendable {
    public struct Entry: Sendable, Equatable {
        public var alert: Alert
        public var since: Double
        public var lastSent: Double
    }

    /// Nil: a condition is reported once, until resolved.
    public var repeatEvery: Double?
    public var host: String
    public private(set) var firing: [Alert.Key: Entry] = [:]

    public init(repeatEvery: Double?, host: String) {
        self.repeatEvery = repeatEvery
        self.host = host
    }

    /// Takes up an alert a previous run left firing: it is not posted again while it lasts,
    /// and is resolved when it is gone.
    public mutating func restore(_ alert: Alert, since: Double, lastSent: Double) {
        firing[alert.key] = Entry(alert: alert, since: since, lastSent: lastSent)
    }

    /// The messages this check calls for, given every condition found now. Within `kinds`
    /// only: a kind not looked at this time (its source could not be read) keeps its state.
    public mutating func update(_ current: [Alert], now: Double, kinds: Set<AlertKind> = Set(AlertKind.conditions)) -> [AlertMessage] {
        var messages: [AlertMessage] = []
        var seen = Set<Alert.Key>()
        for alert in current where kinds.contains(alert.kind) && seen.insert(alert.key).inserted {
            if var entry = firing[alert.key] {
                entry.alert = alert
                if let repeatEvery, now - entry.lastSent >= repeatEvery {
                    entry.lastSent = now
                    messages.append(AlertMessage(alert: alert, state: .firing, since: entry.since, at: now, host: host, repeated: true))
                }
                firing[alert.key] = entry
            } else {
                firing[alert.key] = Entry(alert: alert, since: now, lastSent: now)
                messages.append(AlertMessage(alert: alert, state: .firing, since: now, at: now, host: host))
            }
        }
        for (key, entry) in firing.sorted(by: { $0.value.since < $1.value.since }) where kinds.contains(key.kind) && !seen.contains(key) {
            firing[key] = nil
            messages.append(AlertMessage(alert: entry.alert, state: .resolved, since: entry.since, at: now, host: host))
        }
        return messages
    }
}
