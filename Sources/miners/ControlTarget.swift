import ArgumentParser
import Config

/// Which supervisor a control command talks to: the one of a config, or of a database.
struct ControlTarget: ParsableArguments {
    @Option(name: .long, help: "The supervisor's config file (its database locates the control socket).")
    var config: String?

    @Option(name: .long, help: "The supervisor's database (the control socket is DATABASE.control.sock). `status` takes several, one per machine, and merges their analysis.")
    var db: [String] = []

    func validate() throws {
        guard (config == nil) != db.isEmpty else { throw ValidationError("give --config FILE or --db PATH") }
    }

    /// The database path, from the (first) --db or the config.
    func database() throws -> String {
        if let db = db.first { return db }
        do {
            return try MinersConfig.databasePath(of: config!)
        } catch {
            throw ValidationError(error.description)
        }
    }

    var loadedConfig: MinersConfig? { config.flatMap { try? MinersConfig.load(path: $0) } }
}
