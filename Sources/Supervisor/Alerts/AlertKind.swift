/// What an alert is about; the raw value is the `alert` field of a JSON webhook's message.
public enum AlertKind: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
    case crashLoop = "crash_loop"
    case serviceUnhealthy = "service_unhealthy"
    case deregistered
    case noRequests = "no_requests"
    case logRowsLost = "log_rows_lost"
    case serveFailed = "serve_failed"
    case diskFull = "disk_full"
    /// Not a condition: the count of messages a webhook's rate limit held back.
    case rateLimited = "rate_limited"

    /// The conditions watched, in the order `miners alerts test` sends them.
    public static let conditions: [AlertKind] = allCases.filter { $0 != .rateLimited }

    /// Words for a message's headline.
    public var title: String {
        switch self {
        case .crashLoop: "crash-looping"
        case .serviceUnhealthy: "service unhealthy"
        case .deregistered: "hotkey deregistered"
        case .noRequests: "no validator requests"
        case .logRowsLost: "log rows lost"
        case .serveFailed: "chain serve failing"
        case .diskFull: "disk nearly full"
        case .rateLimited: "alerts held back by the rate limit"
        }
    }
}
