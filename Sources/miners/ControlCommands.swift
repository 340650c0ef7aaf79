import ArgumentParser
import Supervisor

/// `miners reload`, `miners restart|stop|start NAME`: one request to the running supervisor.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running supervisor re-read its config and apply the difference (like SIGHUP).",
        discussion: "Added miners and services start, removed ones stop gracefully, changed ones restart, unchanged ones are not touched. A changed fleet: replaces the replicator and restarts nothing. database: and supervisor.metrics_port need a restart of the supervisor. An invalid config is rejected and the running set is kept."
    )
    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await send(target, "/reload")
    }
}

struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart one miner's worker (gracefully).")
    @Argument(help: "The miner's name.") var name: String
    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await send(target, "/miners/\(name)/restart")
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop one miner's worker (gracefully); it stays stopped until `miners start`.")
    @Argument(help: "The miner's name.") var name: String
    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await send(target, "/miners/\(name)/stop")
    }
}

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start one stopped or crash-looping miner again.")
    @Argument(help: "The miner's name.") var name: String
    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await send(target, "/miners/\(name)/start")
    }
}

private func send(_ target: ControlTarget, _ path: String) async throws {
    let client = ControlClient(socketPath: try target.database() + ".control.sock")
    do {
        print(try await client.post(path))
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}
