import ArgumentParser
import Config
import Foundation
import LogStore
import Supervisor

struct ChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain",
        abstract: "Talk to the subtensor chain natively: metagraph snapshots and axon publishing.",
        discussion: """
            A Swift client (JSON-RPC over websocket, SCALE, metadata v15, sr25519 signing); no \
            Python bittensor is needed. Networks: finney, test, archive, local, or any ws:// or \
            wss:// URL.
            """,
        subcommands: [ChainMetagraphCommand.self, ChainServeCommand.self]
    )
}

struct ChainMetagraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metagraph",
        abstract: "Write a subnet's metagraph snapshot: the file blacklist.metagraph reads.",
        discussion: """
            Fetches what `bittensor.Metagraph(netuid)` (lite) fetches, at the best block: every \
            neuron's uid, hotkey, coldkey, stake (metagraph.S, in TAO), validator_permit, \
            active, axon ip and port, last_update, plus the block and the subnet's tempo. The \
            file is replaced atomically, so a worker reading it never sees half of it. The \
            supervisor does the same once per tempo for miners with `chain: {refresh: tempo}`.
            """
    )

    @Option(help: "The subnet.")
    var netuid: Int

    @Option(help: "finney, test, archive, local, or a ws:// or wss:// URL.")
    var network = "finney"

    @Option(help: "The snapshot file to write (JSON).")
    var out: String

    @Option(help: "PEM certificates to trust for a wss:// node instead of the system's.")
    var caFile: String?

    @Option(help: "Also record the refresh in this SQLite log database.")
    var db: String?

    func validate() throws {
        guard (0...65535).contains(netuid) else { throw ValidationError("--netuid must be from 0 to 65535") }
        guard ChainNetwork.url(network) != nil else { throw ValidationError("--network '\(network)': expected \(ChainNetwork.expected)") }
    }

    func run() async throws {
        let target = MetagraphTarget(network: network, netuid: netuid, path: out, miner: "-", caFile: caFile)
        let record = await target.refresh()
        if let db {
            let database = try LogDatabase.open(path: db)
            try Migrations.migrate(database)
            try await database.write { try record.insert(into: $0) }
        }
        guard record.outcome == "written", let block = record.block else {
            printError("metagraph of subnet \(netuid) on \(network): \(record.detail ?? "failed")")
            throw ExitCode(1)
        }
        print("wrote \(out): subnet \(netuid) at block \(block), \(record.detail ?? "")")
    }
}

struct ChainServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Publish each miner's axon (external_ip, external_port) on chain, only where it differs.",
        discussion: """
            For every miner with external_ip: reads the axon the chain has for its hotkey on \
            chain.netuid and compares ip, port, ip_type, protocol and version (bittensor \
            10.5.0's 10005000). Only when they differ is SubtensorModule.serve_axon signed with \
            the miner's hotkey (read from its wallet file, never logged) and sent; it needs no \
            balance. The supervisor does the same at start and on reload, never on a worker \
            restart.

            "Served too recently" (chain error 12) is not a failure: the command waits for the \
            block the subnet's serving_rate_limit allows and tries again (--no-wait reports it \
            and stops). Not registered (10), a refused IP (11) or port (13) and other pool \
            errors are reported in words. Every attempt is a row in the config's database \
            (`miners status` shows the last). Exit status 1 when any miner failed.
            """
    )

    @Argument(help: "The config file (YAML).")
    var config: String

    @Flag(help: "Compare and show what would be sent; sign and send nothing.")
    var dryRun = false

    @Option(name: .customLong("miner"), help: "Only this miner (repeatable).")
    var miners: [String] = []

    @Flag(help: "When the chain says it is too soon, report it and stop instead of waiting.")
    var noWait = false

    @Option(help: "Seconds between checks of the chain's head while waiting out a rate limit.")
    var pollInterval: Double = 12

    @Option(help: "Seconds to wait for the transaction to be included in a block.")
    var inclusionTimeout: Double = 120

    func run() async throws {
        let config: MinersConfig
        do {
            config = try MinersConfig.load(path: self.config)
            for name in miners { _ = try config.miner(named: name) }
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
        let chosen = config.miners.filter { (miners.isEmpty || miners.contains($0.name)) && $0.externalAxon != nil }
        guard !chosen.isEmpty else {
            printError("\(self.config): no miner has external_ip; add external_ip (and chain: {network, netuid}, wallet:) to the miners to publish")
            throw ExitCode(1)
        }
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        var failed = false
        for miner in chosen {
            var attempts = 0
            while true {
                attempts += 1
                let result = await MinerServe.run(miner, dryRun: dryRun, inclusionTimeout: .seconds(inclusionTimeout))
                try await database.write { try result.record.insert(into: $0) }
                print("\(miner.name): \(result.record.outcome): \(result.message)")
                guard case .rateLimited(let retryAt, _)? = result.outcome, !noWait, attempts < 3 else {
                    failed = failed || result.record.outcome == "failed"
                    break
                }
                await MinerServe.waitForBlock(retryAt, chain: miner.chain, poll: pollInterval)
            }
        }
        if failed { throw ExitCode(1) }
    }
}
