import ArgumentParser
import Supervisor

/// What the supervisor runs for a service: the server as its child, stopped by the supervisor's
/// orders and never left behind. Not for use by hand.
struct ServiceRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-run",
        abstract: "Run a service's server for the supervisor (internal): relays stop orders read on standard input, and stops the server when the supervisor is gone.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "The signal number that stops the server.")
    var stopSignal: Int32 = 15

    @Option(name: .long, help: "Seconds between the stop signal and SIGKILL.")
    var grace: Double = 30

    @Option(name: .long, help: .hidden)
    var execChild: Int32?

    @Argument(parsing: .postTerminator, help: "The server's program and arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the server's command after --") }
        guard (1...64).contains(stopSignal) else { throw ValidationError("--stop-signal must be a signal number") }
        guard grace.isFinite, (0...3600).contains(grace) else { throw ValidationError("--grace must be 0 to 3600 seconds") }
    }

    func run() throws {
        if let parent = execChild { ServiceGuard.execChild(command: command, parent: parent) }
        ServiceGuard.run(command: command, stopSignal: stopSignal, grace: grace)
    }
}
