import ArgumentParser
import Config
import Foundation
import Logging
import Server

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve one miner of a config until SIGINT or SIGTERM.",
        discussion: """
            Listens on the miner's host and port for POST /<synapse>, streams each answer in \
            batches of streaming_batch_size items, and logs to the config's database (migrated \
            on start). Exit status: 0 after a signal, 1 on a config or start-up error, \
            3 when stop_on_forward_exception stopped the worker after a backend failure.
            """
    )

    @Option(name: .long, help: "The config file (YAML).")
    var config: String

    @Option(name: .long, help: "The name of the miner to serve, as in the config.")
    var miner: String

    @Option(name: .long, help: "Override the config's database path.")
    var db: String?

    @Option(name: .long, help: "Override the miner's port (0 picks a free port and prints it).")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let config: MinersConfig
        var miner: MinerConfig
        do {
            config = try MinersConfig.load(path: self.config)
            miner = try config.miner(named: self.miner)
        } catch {
            throw ValidationError(error.description)
        }
        if let port { miner.port = port }
        var logger = Logger(label: "miners.worker.\(miner.name)")
        logger.logLevel = logLevel
        let worker = Worker(miner: miner, databasePath: db ?? config.database, logger: logger)
        let status = try await worker.run { [host = miner.host] port in
            // A line a parent process or test can wait for (unbuffered).
            FileHandle.standardOutput.write(Data("listening on \(host):\(port)\n".utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
