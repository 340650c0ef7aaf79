import ArgumentParser

@main
struct Miners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miners",
        abstract: "Run Bittensor subnet-35 stream miners from a config file.",
        discussion: """
            A config file (YAML, see configs/local.yaml) names a SQLite database, a list of \
            miners and, optionally, the services (model servers) they use. `miners supervise \
            CONFIG` runs each service and each miner as a process of its own: the services first, \
            health-checked over HTTP (see configs/smollm.yaml), and each miner as a worker that \
            speaks the bittensor axon protocol for StreameinsteinSynapse and logs every request, \
            batch and timeout, answering 503 backend_not_ready while its services are not ready. \
            It restarts what crashes and stops everything cleanly.
            """,
        subcommands: [
            SuperviseCommand.self, StatusCommand.self, ReportCommand.self, CheckCommand.self, ReloadCommand.self,
            RestartCommand.self, StopCommand.self, StartCommand.self, WorkerCommand.self, MigrateCommand.self,
            SimulateCommand.self, MatrixCommand.self, ChainCommand.self, ServiceRunCommand.self, InstallCommand.self, LogsCommand.self, RetentionCommand.self,
            AlertsCommand.self,
        ]
    )
}
