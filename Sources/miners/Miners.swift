import ArgumentParser

@main
struct Miners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miners",
        abstract: "Run Bittensor subnet-35 stream miners from a config file.",
        discussion: """
            A config file (YAML, see configs/local.yaml) names a SQLite database and a list of \
            miners. `miners supervise CONFIG` runs each miner as a worker process that speaks \
            the bittensor axon protocol for StreameinsteinSynapse and logs every request, batch \
            and timeout; it restarts crashed workers and stops them cleanly.
            """,
        subcommands: [
            SuperviseCommand.self, StatusCommand.self, ReportCommand.self, CheckCommand.self, ReloadCommand.self,
            RestartCommand.self, StopCommand.self, StartCommand.self, WorkerCommand.self, MigrateCommand.self,
            SimulateCommand.self, MatrixCommand.self, ChainCommand.self, ServiceRunCommand.self,
        ]
    )
}
