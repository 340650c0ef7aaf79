import ArgumentParser

@main
struct Miners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miners",
        abstract: "Run Bittensor subnet-35 stream miners from a config file.",
        discussion: """
            A config file (YAML, see configs/local.yaml) names a SQLite database and a list of \
            miners. Each miner is served by one worker process that speaks the bittensor axon \
            protocol for StreameinsteinSynapse and logs every request, batch and timeout.
            """,
        subcommands: [WorkerCommand.self, MigrateCommand.self]
    )
}
