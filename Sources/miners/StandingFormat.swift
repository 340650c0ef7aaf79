import Foundation
import LogStore

/// The `status` table of each miner's hotkey standing at the last metagraph refresh.
enum StandingFormat {
    static let help = """
        Below it, the hotkey standing of each miner on a subnet whose metagraph the supervisor \
        refreshes (chain.refresh: tempo), at the last good refresh: UID; INCENTIVE 0..1; \
        EMISSION/DAY = emission per epoch (metagraph.E) x 7200 blocks a day (12 s each) / \
        (tempo + 1); STAKE (metagraph.S); IMMUNITY blocks left before the hotkey can be pruned; \
        REGISTERED yes, "not registered?" when only the last refresh missed the hotkey (one bad \
        read proves nothing), or deregistered when the last two did. The worker keeps serving \
        either way: a hotkey can be registered again. `standing` in --json.
        """

    static func table(_ standings: [HotkeyStanding], now: Double, duration: (Double) -> String) -> [[String]] {
        [["NAME", "UID", "INCENTIVE", "EMISSION/DAY", "STAKE", "IMMUNITY", "REGISTERED", "BLOCK", "WHEN"]] + standings.map { standing in
            // One read without the hotkey proves nothing yet: its last registered values stay shown.
            let row = standing.state == .unconfirmed ? standing.lastRegistered ?? standing.latest : standing.latest
            return [
                row.miner, row.uid.map(String.init) ?? "-", number(row.incentive, "%.5f"), number(row.emissionPerDay, "%.4f"),
                number(row.stake, "%.2f"), row.immunityLeft.map { "\($0) blocks" } ?? "-", registered(standing.state),
                String(standing.latest.block), duration(max(0, now - standing.latest.at)) + " ago",
            ]
        }
    }

    static func registered(_ state: HotkeyStanding.State) -> String {
        switch state {
        case .registered: "yes"
        case .unconfirmed: "not registered?"
        case .deregistered: "deregistered"
        }
    }

    static func number(_ value: Double?, _ format: String) -> String {
        value.map { String(format: format, $0) } ?? "-"
    }
}
