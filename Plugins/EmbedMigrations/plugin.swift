import Foundation
import PackagePlugin

/// Embeds the package's top-level `migrations/*.sql` into the target as Swift constants, so the
/// schema lives in plain SQL files and every `miners` binary still carries its own migrations.
/// The `Fleet` target gets `migrations/postgres/*.sql` instead: the fleet's PostgreSQL schema.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: target.name == "Fleet" ? "migrations/postgres" : "migrations")
        let files = try FileManager.default
            .contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) SQL migrations",
                executable: try context.tool(named: "migrations-embedder").url,
                arguments: [output.path()] + files.map { $0.path() },
                inputFiles: files,
                outputFiles: [output]
            ),
        ]
    }
}
