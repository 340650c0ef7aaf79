import ArgumentParser
import LogStore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade a log database to this binary's schema.",
        discussion: """
            Applies the SQL files of migrations/ that the database lacks, in order. A database \
            already migrated by a newer miners binary is refused and left untouched.

            --vacuum lets a database made before incremental vacuum give the pages retention \
            frees back to the file system: it rewrites the file once (as much free disk again is \
            needed; best with the supervisor stopped, whose workers wait for the write lock). New \
            databases have it from the start; without it the freed pages are reused, so the \
            file stays flat but does not shrink.
            """
    )

    @Option(name: .long, help: "The SQLite file (created if missing).")
    var db: String

    @Flag(name: .long, help: "Rewrite the file once so that retention can shrink it (incremental vacuum).")
    var vacuum = false

    func run() throws {
        let database = try LogDatabase.open(path: db)
        let applied = try Migrations.migrate(database)
        let all = try Migrations.applied(database)
        print(applied.isEmpty
            ? "\(db): up to date (\(all.count) migrations: \(all.joined(separator: ", ")))"
            : "\(db): applied \(applied.joined(separator: ", ")); now at \(all.last ?? "-")")
        if vacuum {
            if try LogDatabase.hasIncrementalVacuum(database) {
                print("\(db): incremental vacuum is already on")
            } else {
                print("\(db): rewriting the file for incremental vacuum…")
                try LogDatabase.enableIncrementalVacuum(database)
                print("\(db): incremental vacuum is on")
            }
        }
    }
}
