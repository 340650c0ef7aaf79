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
            on start). On SIGTERM/SIGINT it stops accepting, lets open streams finish for up to \
            --grace seconds, ends the rest as on a timeout, flushes the log and exits; a second \
            signal ends the streams at once (with --exit-with-parent, every SIGTERM is the same \
            stop, and a line `stop` on standard input is one too). One worker per miner: a \
            second one for the same miner and database refuses to start and names the first. Exit status: 0 after a signal, 1 on a config or \
            start-up error, 3 when stop_on_forward_exception stopped the worker after a backend \
            failure. `miners supervise` runs workers for you.
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

    @Option(name: .long, help: "Seconds open streams may take to finish after SIGTERM/SIGINT; then they end as on a timeout.")
    var grace: Double = 20

    @Flag(name: .long, help: "Stop when standard input closes (the supervisor's pipe: the worker never outlives it).")
    var exitWithParent = false

    @Flag(name: .long, help: "Refuse requests with 503 backend_not_ready until the supervisor writes the line `ready` on standard input (`not_ready REASON` closes it again); the supervisor sets it for a miner whose services it runs.")
    var backendGate = false

    @Flag(name: .long, help: "Write no request, batch or timeout rows (benchmarks only: measures what logging costs).")
    var noRequestLog = false

    func validate() throws {
        guard grace >= 0, grace <= SupervisorConfig.maxGracePeriod else {
            throw ValidationError("--grace must be a number of seconds from 0 to \(Int(SupervisorConfig.maxGracePeriod))")
        }
    }

    func run() async throws {
        let config: MinersConfig
        var miner: MinerConfig
        do {
            config = try MinersConfig.load(path: self.config)
            miner = try config.miner(named: self.miner)
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
        if let port { miner.port = port }
        // Output may go to a supervisor's pipe: if the supervisor is gone, a write must fail
        // quietly rather than kill the worker before it has flushed its log.
        signal(SIGPIPE, SIG_IGN)
        var logger = Logger(label: "miners.worker.\(miner.name)")
        logger.logLevel = logLevel
        var worker = Worker(miner: miner, databasePath: db ?? config.database, logger: logger)
        worker.gracePeriod = .milliseconds(Int64(grace * 1000))  // bounded by validate()
        worker.exitWithParent = exitWithParent
        worker.backendGate = backendGate
        worker.recordsRequests = !noRequestLog
        let status: Int32
        do {
            status = try await worker.run { [host = miner.host] port in
                // A line a parent process or test can wait for (unbuffered). A plain write: it
                // may fail (the supervisor gone), and a failed write must not end the worker.
                let line = Array("listening on \(host):\(port)\n".utf8)
                _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            }
        } catch let served as Worker.AlreadyServed {
            printError("\(served)")
            throw ExitCode(1)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
