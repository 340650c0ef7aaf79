/// A miner's place on chain: which network and subnet, whether the supervisor keeps the
/// metagraph snapshot (`blacklist.metagraph`) fresh, and what to publish as its axon.
public struct ChainConfig: Sendable, Equatable {
    public enum Refresh: String, Sendable, Equatable {
        /// The operator keeps the snapshot file up to date.
        case off
        /// The supervisor rewrites it once per subnet tempo (blocks × 12 s).
        case tempo
    }

    public var network: String = "finney"
    public var netuid: Int
    public var refresh: Refresh = .off
    /// PEM certificates to trust for a `wss://` node instead of the system's (a node of your own
    /// behind a private CA).
    public var caFile: String?

    public init(network: String = "finney", netuid: Int, refresh: Refresh = .off, caFile: String? = nil) {
        self.network = network
        self.netuid = netuid
        self.refresh = refresh
        self.caFile = caFile
    }
}

/// The axon address a miner publishes on chain (`miners chain serve`, and the supervisor at
/// start and reload). The IP is never guessed: it must be given.
public struct ExternalAxon: Sendable, Equatable {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }
}

/// Where a miner's hotkey lives in a bittensor wallet (`wallet: {path, name, hotkey}`).
public struct WalletLocation: Sendable, Equatable {
    public var path: String
    public var name: String
    public var hotkey: String

    public init(path: String, name: String, hotkey: String) {
        self.path = path
        self.name = name
        self.hotkey = hotkey
    }
}

/// bittensor's network names (10.5.0 `NETWORK_MAP`) and their websocket endpoints.
public enum ChainNetwork {
    public static let endpoints: [String: String] = [
        "finney": "wss://entrypoint-finney.opentensor.ai:443",
        "test": "wss://test.finney.opentensor.ai:443",
        "archive": "wss://archive.chain.opentensor.ai:443",
        "local": "ws://127.0.0.1:9944",
    ]

    /// The endpoint of a network name or `ws(s)://` URL; nil for anything else.
    public static func url(_ network: String) -> String? {
        if let url = endpoints[network] { return url }
        return network.hasPrefix("ws://") || network.hasPrefix("wss://") ? network : nil
    }

    public static var expected: String { "one of \(endpoints.keys.sorted().joined(separator: ", ")) or a ws:// or wss:// URL" }
}
