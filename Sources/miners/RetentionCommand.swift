import ArgumentParser
import Config
import Foundation
import LogStore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Apply the config's retention to its database now.",
        discussion: """
            The supervisor does this a minute after it starts and every ten minutes after; this \
            runs one round at once (after changing retention:, or for a database no supervisor \
            runs). A round rolls every hour that ended at least two hours ago up into \
            request_rollups (per hour, miner, hotkey, backend, batch size, validator, outcome and \
            refusal reason: counts, items, bytes, sums of every timing, time-to-first-batch \
            percentiles and a histogram), then deletes batch rows older than retention.batches, \
            requests (with their timeouts) and the supervisor's events older than \
            retention.requests (the newest event of each miner, service and chain target stays), \
            and rollups older than retention.rollups, a few hundred rows per transaction, then \
            gives the freed pages back to the file system (incremental vacuum; see migrate \
            --vacuum). `miners status` and `miners report` read raw rows where they exist and \
            rollups before, and say which. Safe to interrupt: the next round goes on.
            """
    )

    @Argument(help: "The config file: its database and its retention: settings.")
    var config: String

    @Option(name: .long, help: .hidden)
    var now: Double?

    func run() async throws {
        let config: MinersConfig
        do {
            config = try MinersConfig.load(path: self.config)
        } catch {
            throw ValidationError("config error: \(error)")
        }
        let database = try LogDatabase.open(path: config.database)
        try Migrations.migrate(database)
        let retention = config.retention
        func horizon(_ seconds: Double?) -> String { seconds.map { "\(Int($0 / 86_400))d" } ?? "forever" }
        print("\(config.database): batches \(horizon(retention.batches)), requests \(horizon(retention.requests)), rollups \(horizon(retention.rollups))")
        var pass = RetentionPass(database: database, batches: retention.batches, requests: retention.requests, rollups: retention.rollups)
        pass.keepUnreplicated = retention.keepUnreplicated  // fleet: rows not yet in PostgreSQL stay
        let progress = try await pass.run(now: now ?? Date().timeIntervalSince1970) { progress in print("  \(progress)") }
        let state = try RetentionState.read(database)
        func date(_ time: Double) -> String { time == 0 ? "-" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: time)) }
        print("done: \(progress)")
        print("rolled up to \(date(state.rolledUntil)); raw requests from \(date(state.requestsUntil)), batch rows from \(date(state.batchesUntil))")
    }
}
