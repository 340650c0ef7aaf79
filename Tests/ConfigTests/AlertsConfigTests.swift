import Foundation
import Testing
@testable import Config

/// `alerts:` (issue #18): webhooks whose secrets come from the environment or an env_file.
/// Every error names its line and field, and never the secret.
@Suite(.serialized) struct AlertsConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: String
    /// Variables of this test alone: the process's environment is shared.
    let prefix = "ALERTS_TEST_\(UInt32.random(in: 0...UInt32.max))_"
    let secret = "https://discord.example/api/webhooks/1/very-secret-token"

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// `alerts:` from line 1, then a mock miner.
    func parse(_ alerts: String) throws(ConfigError) -> MinersConfig {
        try MinersConfig.parse(
            yaml: alerts + "miners:\n  - {name: m, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 9000, backend: {kind: mock}}\n",
            file: "c.yaml"
        )
    }

    func set(_ name: String, _ value: String) {
        setenv(prefix + name, value, 1)
    }

    func failure(_ alerts: String) -> ConfigError? {
        do {
            _ = try parse(alerts)
            return nil
        } catch {
            return error
        }
    }

    @Test func noAlertsSectionMeansNoWebhooks() throws {
        let config = try parse("")
        #expect(config.alerts == AlertsConfig())
        #expect(!config.alerts.isEnabled)
    }

    @Test func everyKindAndSettingIsRead() throws {
        set("D", secret)
        set("T", "123456:ABC-def_9")
        let config = try parse("""
            alerts:
              webhooks:
                - {kind: discord, url_env: \(prefix)D}
                - {kind: telegram, token_env: \(prefix)T, chat_id: "-100123"}
                - {kind: telegram, token_env: \(prefix)T, chat_id: "@chan", api_url: "http://127.0.0.1:9/tg/"}
                - {kind: slack, url_env: \(prefix)D}
                - {kind: json, url_env: \(prefix)D}
              no_requests: 30m
              disk_free: 2.5%
              repeat: 90s
              rate_limit: 7/h
              check_every: 2

            """)
        let alerts = config.alerts
        #expect(alerts.webhooks.map(\.kind) == [.discord, .telegram, .telegram, .slack, .json])
        #expect(alerts.webhooks[0].url.value == secret && alerts.webhooks[0].variable == prefix + "D")
        #expect(alerts.webhooks[1].url.value == "https://api.telegram.org/bot123456:ABC-def_9/sendMessage")
        #expect(alerts.webhooks[1].chatID == "-100123")
        #expect(alerts.webhooks[2].url.value == "http://127.0.0.1:9/tg/bot123456:ABC-def_9/sendMessage")
        #expect(alerts.noRequests == 1800 && alerts.diskFree == 2.5 && alerts.repeatEvery == 90)
        #expect(alerts.ratePerHour == 7 && alerts.checkEvery == 2)
        // Nothing that prints the config shows the secret.
        for text in [String(describing: config), String(reflecting: config), "\(alerts.webhooks)"] {
            #expect(!text.contains("very-secret-token") && !text.contains("ABC-def_9"))
        }
        #expect(alerts.webhooks[0].description == "discord (\(prefix)D)")
    }

    @Test func defaultsAndOff() throws {
        set("D", secret)
        let defaults = try parse("alerts: {webhooks: [{kind: json, url_env: \(prefix)D}]}\n").alerts
        #expect(defaults.noRequests == nil && defaults.diskFree == 5 && defaults.repeatEvery == 6 * 3600)
        #expect(defaults.ratePerHour == 20 && defaults.checkEvery == 15)
        let off = try parse("alerts: {webhooks: [{kind: json, url_env: \(prefix)D}], no_requests: off, disk_free: off, repeat: off}\n").alerts
        #expect(off.noRequests == nil && off.diskFree == nil && off.repeatEvery == nil)
    }

    @Test func theEnvFileWinsOverTheEnvironmentAndMustBePrivate() throws {
        set("F", "https://from-the-environment.example/x")
        let path = directory + "/alerts.env"
        try "\(prefix)F=https://from-the-file.example/secret-path\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        let config = try parse("alerts:\n  env_file: \(path)\n  webhooks: [{kind: slack, url_env: \(prefix)F}]\n")
        #expect(config.alerts.webhooks[0].url.value == "https://from-the-file.example/secret-path")
        #expect(config.alerts.environmentFile == path)

        chmod(path, 0o644)
        let error = try #require(failure("alerts:\n  env_file: \(path)\n  webhooks: [{kind: slack, url_env: \(prefix)F}]\n"))
        #expect(error.line == 2 && error.field == "alerts.env_file")
        #expect(error.message.contains("readable or writable by others"))
        #expect(!error.description.contains("secret-path"))
    }

    @Test func aMissingOrEmptyVariableIsNamedWithItsLine() throws {
        let missing = try #require(failure("alerts:\n  webhooks:\n    - kind: discord\n      url_env: \(prefix)NOPE\n"))
        #expect(missing.description == "c.yaml:4: field 'alerts.webhooks[0].url_env': \(prefix)NOPE is not set in the supervisor's environment (or give alerts.env_file)")
        set("EMPTY", "")
        let empty = try #require(failure("alerts:\n  webhooks:\n    - {kind: json, url_env: \(prefix)EMPTY}\n"))
        #expect(empty.line == 3 && empty.message == "\(prefix)EMPTY is empty")
    }

    @Test func noErrorShowsTheSecret() throws {
        let cases: [(value: String, webhook: String, field: String, words: String)] = [
            ("ftp://host/very-secret-token", "{kind: slack, url_env: V}", "url_env", "is not an http:// or https:// URL"),
            ("https:///very-secret-token", "{kind: slack, url_env: V}", "url_env", "is not an http:// or https:// URL"),
            ("https://x.example/very secret token", "{kind: json, url_env: V}", "url_env", "holds spaces"),
            ("12:very-secret/token", "{kind: telegram, token_env: V, chat_id: '1'}", "token_env", "is not a bot token"),
            (String(repeating: "x", count: 3000) + "very-secret-token", "{kind: discord, url_env: V}", "url_env", "longer than 2048 bytes"),
        ]
        for (value, webhook, field, words) in cases {
            set("V", value)
            let error = try #require(failure("alerts:\n  webhooks:\n    - \(webhook.replacingOccurrences(of: "V", with: prefix + "V"))\n"))
            #expect(error.line == 3 && error.field == "alerts.webhooks[0].\(field)")
            #expect(error.message.contains(words), "\(error)")
            #expect(!error.description.contains("very-secret") && !error.description.contains("very secret"), "\(error)")
        }
        // A URL written into the config itself is refused, and not quoted.
        let inline = try #require(failure("alerts:\n  webhooks:\n    - {kind: slack, url: \"https://hooks.example/very-secret-token\"}\n"))
        #expect(inline.field == "alerts.webhooks[0].url" && inline.message.hasPrefix("a webhook's URL holds its secret"))
        #expect(!inline.description.contains("very-secret"))
    }

    @Test func shapeErrorsNameLineAndField() throws {
        set("D", secret)
        let cases: [(String, Int, String, String)] = [
            ("alerts:\n  webhook: []\n", 2, "alerts", "unknown key 'webhook' (did you mean 'webhooks'?)"),
            ("alerts:\n  webhooks: []\n", 2, "alerts.webhooks", "expected a list of 1 to 16 webhooks"),
            ("alerts:\n  webhooks:\n    - {kind: teams, url_env: \(prefix)D}\n", 3, "alerts.webhooks[0].kind", "expected one of: discord, telegram, slack, json"),
            ("alerts:\n  webhooks:\n    - {kind: discord}\n", 3, "alerts.webhooks[0].url_env", "is required for a discord webhook"),
            ("alerts:\n  webhooks:\n    - {kind: telegram, token_env: \(prefix)D}\n", 3, "alerts.webhooks[0].token_env", "is not a bot token"),
            ("alerts:\n  webhooks:\n    - {kind: slack, url_env: \(prefix)D, chat_id: 1}\n", 3, "alerts.webhooks[0].chat_id", "is only for a telegram webhook"),
            ("alerts:\n  webhooks:\n    - {kind: slack, url_env: '1BAD'}\n", 3, "alerts.webhooks[0].url_env", "is not a variable name"),
            ("alerts:\n  webhooks: [{kind: json, url_env: \(prefix)D}]\n  no_requests: 0s\n", 3, "alerts.no_requests", "expected 'off' or a duration"),
            ("alerts:\n  webhooks: [{kind: json, url_env: \(prefix)D}]\n  repeat: 1e300\n", 3, "alerts.repeat", "expected 'off' or a duration"),
            ("alerts:\n  webhooks: [{kind: json, url_env: \(prefix)D}]\n  disk_free: 100%\n", 3, "alerts.disk_free", "a percentage above 0 and below 100"),
            ("alerts:\n  webhooks: [{kind: json, url_env: \(prefix)D}]\n  rate_limit: 0/h\n", 3, "alerts.rate_limit", "from 1 to 10000"),
            ("alerts:\n  webhooks: [{kind: json, url_env: \(prefix)D}]\n  check_every: off\n", 3, "alerts.check_every", "a duration from 1s to 600s"),
        ]
        for (yaml, line, field, words) in cases {
            let error = try #require(failure(yaml), "\(yaml)")
            #expect(error.line == line && error.field == field, "\(error)")
            #expect(error.message.contains(words), "\(error)")
        }
    }

    /// The README's example, with its variables set and its env_file one of this test's.
    @Test func theReadmeExampleParses() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "## Alerts\n")?.upperBound)
        let start = try #require(readme[marker...].range(of: "```yaml\n")?.upperBound)
        let end = try #require(readme[start...].range(of: "```")?.lowerBound)
        let envFile = directory + "/alerts.env"
        try """
            DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/1/abc
            TELEGRAM_BOT_TOKEN=123:abc
            SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T/B/x
            ALERT_URL=http://127.0.0.1:8080/alerts
            """.write(toFile: envFile, atomically: false, encoding: .utf8)
        chmod(envFile, 0o600)
        let yaml = String(readme[start..<end]).replacingOccurrences(of: "/etc/miners/alerts.env", with: envFile)
        let alerts = try parse(yaml).alerts
        #expect(alerts.webhooks.map(\.kind) == [.discord, .telegram, .slack, .json])
        #expect(alerts.webhooks[1].url.value == "https://api.telegram.org/bot123:abc/sendMessage")
        #expect(alerts.noRequests == 1800 && alerts.diskFree == 5 && alerts.repeatEvery == 21_600 && alerts.ratePerHour == 20)
    }
}
