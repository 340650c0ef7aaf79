import ArgumentParser
import Fleet
import Foundation
import GRDB
import LogStore
import Report

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a window of the log.",
        discussion: """
            Charts: outcomes over time per miner, each miner's incentive at every metagraph \
            refresh against its hourly empty_timeout and partial_timeout rates, time to first batch, the share of each answer \
            delivered, the batches of the slowest requests against their timeout, and a table \
            per validator. The file needs no network to be viewed. Several --db are merged.
            """
    )

    @Option(name: .long, help: "A log database (repeat for several machines), or the fleet's postgres://user:password@host/database (alone).")
    var db: [String]

    @Option(name: .long, help: "The window: 30m, 24h, 7d (ending now).")
    var since = "24h"

    @Option(name: .long, help: "The HTML file to write.")
    var out = "report.html"

    func validate() throws {
        guard !db.isEmpty else { throw ValidationError("give at least one --db PATH") }
    }

    func run() async throws {
        let window = try secondsOf(since: since)
        let now = Date().timeIntervalSince1970
        if db.contains(where: FleetURL.isPostgres) {
            // The fleet's PostgreSQL (FleetAnalysis); standing charts are not drawn from it yet.
            guard db.count == 1 else { throw ValidationError("give one postgres:// --db alone") }
            let data = try await FleetAnalysis.report(try FleetURL(db[0]), from: now - window, to: now)
            try ReportPage.html(data, standing: []).write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out): \(data.requests.reduce(0) { $0 + $1.count }) requests from \(FleetStatus.names(db))")
            return
        }
        let databases = try FleetStatus.open(db)
        let data = try ReportQueries.load(databases, from: now - window, to: now)
        let standing = try databases.flatMap { try StandingRecord.history($0, from: now - window, to: now) }
        try ReportPage.html(data, standing: standing).write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(out): \(data.requests.count) requests from \(db.joined(separator: ", "))")
    }
}
