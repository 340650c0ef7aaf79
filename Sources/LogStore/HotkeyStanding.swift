import GRDB

/// A miner's hotkey standing as `status` and the metrics show it: the newest row and whether
/// the hotkey is registered, missing from one read only (not yet believed), or deregistered:
/// missing from the last two reads, the same rule as `StandingRecord.deregistered`.
public struct HotkeyStanding: Sendable, Equatable {
    public enum State: String, Sendable, Encodable {
        case registered
        /// The newest read did not find the hotkey, the one before did (or there was none).
        case unconfirmed = "not_registered_unconfirmed"
        case deregistered
    }

    public var latest: StandingRecord
    /// The newest row that found the hotkey registered: what one bad read does not erase.
    public var lastRegistered: StandingRecord?
    public var state: State

    public init(newestFirst rows: [StandingRecord], lastRegistered: StandingRecord?) {
        latest = rows[0]
        self.lastRegistered = lastRegistered
        state = latest.registered ? .registered : rows.count > 1 && !rows[1].registered ? .deregistered : .unconfirmed
    }

    /// One per miner with standing rows, by name.
    public static func all(_ database: DatabaseQueue) throws -> [HotkeyStanding] {
        let registered = try StandingRecord.lastRegistered(database)
        return try StandingRecord.newest(database, count: 2).sorted { $0.key < $1.key }.map { miner, rows in
            HotkeyStanding(newestFirst: rows, lastRegistered: registered[miner])
        }
    }
}

/// Flat in `status --json`: the newest row's fields, its emission per day and the state.
extension HotkeyStanding: Encodable {
    enum Keys: String, CodingKey { case state, emissionPerDay }

    public func encode(to encoder: any Encoder) throws {
        try latest.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(latest.emissionPerDay, forKey: .emissionPerDay)
    }
}
