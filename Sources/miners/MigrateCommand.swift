import ArgumentParser
import LogStore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade a log database to this binary's schema.",
        discussion: """
            Applies the SQL files of migrations/ that the database lacks, in order. A database \
            already migrated by a newer miners binary is refused and left untouched.
            """
    )

    @Option(name: .long, help: "The SQLite file (created if missing).")
    var db: String

    func run() throws {
        let database = try LogDatabase.open(path: db)
        let applied = try Migrations.migrate(database)
        let all = try Migrations.applied(database)
        print(applied.isEmpty
            ? "\(db): up to date (\(all.count) migrations: \(all.joined(separator: ", ")))"
            : "\(db): applied \(applied.joined(separator: ", ")); now at \(all.last ?? "-")")
    }
}
