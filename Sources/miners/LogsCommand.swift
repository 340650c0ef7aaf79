import ArgumentParser
import Config
import Foundation
import Supervisor
import UnixSignals

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the log of a miner, a service or the supervisor, across its rotated backups.",
        discussion: """
            NAME is a miner or a service of the config, or `supervisor` (the supervisor's own \
            lines). Reads LOG_DIR/NAME.log and its backups NAME.log.1.gz … (a service's log_file \
            when it sets one) and prints the last --lines lines that match, oldest first. \
            --since keeps lines whose leading timestamp is that recent (a line without one goes \
            with the timestamped line before it). -f then keeps printing new lines, following \
            the file across rotations, until SIGINT or SIGTERM.
            """
    )

    @Argument(help: "A miner, a service, or `supervisor`.")
    var name: String

    @Option(name: .long, help: "The config file (it names the log directory).")
    var config: String

    @Flag(name: [.short, .long], help: "Keep printing new lines until interrupted.")
    var follow = false

    @Option(name: .long, help: "Only lines of the last 30s, 10m, 1h, 7d … (by their leading timestamp).")
    var since: String?

    @Option(name: .long, help: "Only lines containing this text (case-sensitive).")
    var grep: String?

    @Option(name: .long, help: "How many of the last matching lines to print first.")
    var lines = 50

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must be 0 or more") }
        if let since { _ = try secondsOf(since: since) }
    }

    func run() async throws {
        let config: MinersConfig
        do {
            config = try MinersConfig.load(path: self.config)
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
        let path: String
        if name == SupervisorOutput.ownLogName {
            path = "\(config.logDirectory)/\(name).log"
        } else if let service = config.service(named: name) {
            path = service.logFile ?? "\(config.logDirectory)/\(name).log"
        } else if config.miners.contains(where: { $0.name == name }) {
            path = "\(config.logDirectory)/\(name).log"
        } else {
            let names = config.miners.map(\.name) + config.services.map(\.name) + [SupervisorOutput.ownLogName]
            printError("no miner or service named '\(name)' in \(config.file); the names are: \(names.joined(separator: ", "))")
            throw ExitCode(1)
        }
        let filter = LogReader.Filter(
            text: grep, since: try since.map { Date(timeIntervalSinceNow: -(try secondsOf(since: $0))) }
        )
        let reader = LogReader(path: path, maxBackups: SupervisorConfig.maxLogBackups)
        let (tail, end) = try reader.tail(lines, filter: filter)
        write(tail)
        guard follow else { return }

        signal(SIGPIPE, SIG_IGN)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                let follower = LogFollower(path: path, from: end, filter: filter)
                while !Task.isCancelled {
                    let lines = follower.poll()
                    if !lines.isEmpty, !write(lines) { return }  // standard output is gone
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Whether standard output took them.
    @discardableResult
    func write(_ lines: [String]) -> Bool {
        guard !lines.isEmpty else { return true }
        var text = lines.joined(separator: "\n")
        text.append("\n")
        return FDWrite.all(STDOUT_FILENO, Array(text.utf8)) == nil
    }
}
