import ArgumentParser
import Config
import Foundation
import Supervisor

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Check the webhooks of a config's alerts: section.",
        discussion: """
            `miners supervise` posts to every webhook of alerts: (Discord, Telegram, \
            Slack-compatible, plain JSON) when a miner crash-loops, a service is unhealthy, a \
            hotkey is deregistered, a miner has no validator request for alerts.no_requests, log \
            rows are lost, a chain serve fails or a disk is nearly full (alerts.disk_free); again \
            at most every alerts.repeat while it lasts, and once more when it is resolved. URLs \
            and tokens come from environment variables (or alerts.env_file), never from the \
            config file. See README "Alerts".
            """,
        subcommands: [AlertsTestCommand.self]
    )
}

struct AlertsTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send one example alert of each kind to each webhook; print what each answered.",
        discussion: """
            Every webhook gets one message per kind (crash_loop, service_unhealthy, deregistered, \
            no_requests, log_rows_lost, serve_failed, disk_full), marked [TEST], with the \
            supervisor's retries and no rate limit. Prints a line per webhook: the HTTP status, \
            or the error (never the URL); a webhook that fails is sent no more. Exit status 1 if \
            any webhook did not take them all.
            """
    )

    @Option(help: "The config file (YAML) with an alerts: section.")
    var config: String

    func run() async throws {
        let config: MinersConfig
        do {
            config = try MinersConfig.load(path: self.config)
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
        guard config.alerts.isEnabled else {
            printError("\(self.config): no alerts.webhooks to test")
            throw ExitCode(1)
        }
        let host = AlertMonitor.hostName()
        let sender = WebhookSender()
        // Every webhook at once; each one's messages in order.
        let results = await withTaskGroup(of: (Int, [WebhookSender.Outcome]).self) { group in
            for (index, webhook) in config.alerts.webhooks.enumerated() {
                group.addTask {
                    var outcomes: [WebhookSender.Outcome] = []
                    for kind in AlertKind.conditions {
                        let now = Date().timeIntervalSince1970
                        let message = AlertMessage(alert: kind.example, state: .firing, since: now, at: now, host: host, test: true)
                        let outcome = await sender.send(message, to: webhook)
                        outcomes.append(outcome)
                        // The rest would fail the same way, each after its retries.
                        if case .failed = outcome { break }
                    }
                    return (index, outcomes)
                }
            }
            var results: [Int: [WebhookSender.Outcome]] = [:]
            for await (index, outcomes) in group { results[index] = outcomes }
            return results
        }
        var failed = false
        for (index, webhook) in config.alerts.webhooks.enumerated() {
            let outcomes = results[index] ?? []
            let statuses = outcomes.compactMap { if case .delivered(let status, _) = $0 { status } else { nil } }
            let problems = outcomes.compactMap { if case .failed(let problem, _) = $0 { problem } else { nil } }
            let kinds = AlertKind.conditions.count
            var line = "webhook \(index + 1), \(webhook): \(statuses.count) of \(kinds) delivered"
            if !statuses.isEmpty { line += " (HTTP \(Array(Set(statuses)).sorted().map(String.init).joined(separator: ", ")))" }
            if let problem = problems.first {
                line += "; failed: \(problem)"
                if outcomes.count < kinds { line += " (the other \(kinds - outcomes.count) not sent)" }
            }
            print(line)
            failed = failed || !problems.isEmpty
        }
        if failed { throw ExitCode(1) }
    }
}
