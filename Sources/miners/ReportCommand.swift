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

    @Option(name: .long, help: "A log database (repeat for several machines), or the fleet's postgres://user:password@host/database; all are added up.")
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
        let sources = try FleetStatus.Sources(db)
        var fleet: [ReportQueries.Part] = []
        for url in sources.urls { fleet.append(try await FleetAnalysis.report(url, from: now - window, to: now)) }
        let databases = try FleetStatus.open(sources.files)
        let data = try ReportQueries.load(databases, from: now - window, to: now, adding: fleet)
        let standing = try databases.flatMap { try StandingRecord.history($0, from: now - window, to: now) } + fleet.flatMap(\.standing)
        try ReportPage.html(data, standing: standing.sorted { $0.at < $1.at }).write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(out): \(data.requests.reduce(0) { $0 + $1.count }) requests from \(sources.names)")
    }
}
