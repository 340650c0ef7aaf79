import GRDB

/// The schema: `migrations/NNNN_name.sql`, embedded at build time and applied in order.
/// GRDB's migrator records each applied file in `grdb_migrations`.
public enum Migrations {
    public struct Newer: Error, CustomStringConvertible {
        public var unknown: [String]
        public var description: String {
            "the database was migrated by a newer miners binary (unknown migrations: \(unknown.joined(separator: ", "))); "
                + "upgrade miners or use another database file"
        }
    }

    /// The migration files this binary carries, in order.
    public static var files: [String] { embeddedMigrations.map(\.file) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in embeddedMigrations {
            migrator.registerMigration(migration.file) { db in try db.execute(sql: migration.sql) }
        }
        return migrator
    }

    /// Applies the missing migrations; refuses a database that a newer binary migrated.
    /// Returns the files applied now.
    @discardableResult
    public static func migrate(_ database: DatabaseQueue) throws -> [String] {
        let migrator = self.migrator
        let before = try database.read { db in try migrator.appliedIdentifiers(db) }
        let unknown = before.subtracting(files).sorted()
        if !unknown.isEmpty { throw Newer(unknown: unknown) }
        do {
            try migrator.migrate(database)
        } catch {
            // Another process sharing the file may have applied the same migration first.
            guard try database.read({ db in try migrator.hasCompletedMigrations(db) }) else { throw error }
        }
        return files.filter { !before.contains($0) }
    }

    /// The files applied to a database.
    public static func applied(_ database: DatabaseQueue) throws -> [String] {
        try database.read { db in try migrator.appliedMigrations(db) }
    }
}
