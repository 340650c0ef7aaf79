import Foundation
import Yams

/// `alerts:` — webhooks and what to alert on. Secrets come from the environment (or the
/// `env_file`) and are checked here: a variable that is missing or empty, or a URL that is not
/// http(s), is a config error naming the variable, never showing its value.
extension ConfigReader {
    static let alertsKeys = ["env_file", "webhooks", "no_requests", "disk_free", "repeat", "rate_limit", "check_every"]
    static let webhookKeys = ["kind", "url_env", "token_env", "chat_id", "api_url"]
    /// The most webhooks: each has a delivery task and a queue.
    static let maxWebhooks = 16
    /// A URL or token longer than this is refused (an URL is a few hundred bytes).
    static let maxSecretBytes = 2048

    func alerts(_ node: Node?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> AlertsConfig {
        var config = AlertsConfig()
        guard let node else { return config }
        let fields = try entries(node, known: Self.alertsKeys, field: "alerts")
        var variables = environment
        if let value = fields["env_file"] {
            let path = try nonEmptyString(value, field: "alerts.env_file")
            do {
                // The file's values win over the supervisor's environment.
                variables.merge(try EnvironmentFile.read(path)) { _, file in file }
            } catch {
                throw self.error(value, field: "alerts.env_file", error.description)
            }
            config.environmentFile = path
        }
        guard let list = fields["webhooks"]?.sequence, !list.isEmpty, list.count <= Self.maxWebhooks else {
            throw error(fields["webhooks"] ?? node, field: "alerts.webhooks", "expected a list of 1 to \(Self.maxWebhooks) webhooks, e.g. [{kind: discord, url_env: DISCORD_WEBHOOK_URL}]")
        }
        for (index, item) in list.enumerated() {
            config.webhooks.append(try webhook(item, field: "alerts.webhooks[\(index)]", variables: variables, file: config.environmentFile))
        }
        if let value = fields["no_requests"] { config.noRequests = try alertDuration(value, field: "alerts.no_requests", range: 1...(30 * 86_400), off: true) }
        if let value = fields["repeat"] { config.repeatEvery = try alertDuration(value, field: "alerts.repeat", range: 1...(30 * 86_400), off: true) }
        if let value = fields["check_every"] { config.checkEvery = try alertDuration(value, field: "alerts.check_every", range: 1...600, off: false)! }
        if let value = fields["disk_free"] {
            let problem = error(value, field: "alerts.disk_free", "expected 'off' or a percentage above 0 and below 100 such as 5%, got '\(value.string?.prefix(32) ?? "?")'")
            guard value.scalar != nil, let text = value.string?.trimmingCharacters(in: .whitespaces), text.utf8.count <= 32 else { throw problem }
            if text == "off" {
                config.diskFree = nil
            } else {
                guard let percent = Double(text.hasSuffix("%") ? String(text.dropLast()) : text), percent > 0, percent < 100 else { throw problem }
                config.diskFree = percent
            }
        }
        if let value = fields["rate_limit"] {
            let problem = error(value, field: "alerts.rate_limit", "expected messages per hour per webhook from 1 to 10000, such as 20/h, got '\(value.string?.prefix(32) ?? "?")'")
            guard value.scalar != nil, let text = value.string?.trimmingCharacters(in: .whitespaces), text.utf8.count <= 32 else { throw problem }
            let number = text.hasSuffix("/h") ? String(text.dropLast(2)) : text
            guard let count = Int(number), (1...10_000).contains(count) else { throw problem }
            config.ratePerHour = count
        }
        return config
    }

    func webhook(_ node: Node, field: String, variables: [String: String], file: String?) throws(ConfigError) -> WebhookConfig {
        if let url = node.mapping?["url"] {
            throw error(url, field: "\(field).url", "a webhook's URL holds its secret and never goes in the config: put it in an environment variable (or the env_file) and name that with url_env")
        }
        let fields = try entries(node, known: Self.webhookKeys, field: field)
        guard let kindNode = fields["kind"] else {
            throw error(node, field: "\(field).kind", "is required: one of \(WebhookConfig.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let kind: WebhookConfig.Kind = try choice(kindNode, miner: nil, field: "\(field).kind")
        /// The variable's value, without ever quoting it.
        func secret(_ key: String) throws(ConfigError) -> (name: String, value: String) {
            guard let nameNode = fields[key] else {
                throw error(node, field: "\(field).\(key)", "is required for a \(kind.rawValue) webhook: the name of the environment variable that holds its \(key == "token_env" ? "bot token" : "URL")")
            }
            let name = try nonEmptyString(nameNode, field: "\(field).\(key)")
            guard EnvironmentFile.isName(name) else {
                throw error(nameNode, field: "\(field).\(key)", "'\(name.prefix(64))' is not a variable name (letters, digits, _; not first a digit)")
            }
            let whereFrom = file.map { "neither in \($0) nor in the supervisor's environment" } ?? "in the supervisor's environment (or give alerts.env_file)"
            guard let value = variables[name] else { throw error(nameNode, field: "\(field).\(key)", "\(name) is not set \(whereFrom)") }
            guard !value.isEmpty else { throw error(nameNode, field: "\(field).\(key)", "\(name) is empty") }
            guard value.utf8.count <= Self.maxSecretBytes, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw error(nameNode, field: "\(field).\(key)", "the value of \(name) is longer than \(Self.maxSecretBytes) bytes or holds spaces, control or non-ASCII characters")
            }
            return (name, value)
        }
        func checkURL(_ text: String, node: Node?, key: String, what: String) throws(ConfigError) {
            guard text.hasPrefix("http://") || text.hasPrefix("https://"), let url = URL(string: text), url.host?.isEmpty == false else {
                throw error(node, field: "\(field).\(key)", "\(what) is not an http:// or https:// URL")
            }
            // The HTTP client traps on a port beyond 16 bits: refused here, not at the first alert.
            if let port = url.port, !(1...65535).contains(port) {
                throw error(node, field: "\(field).\(key)", "\(what) has a port outside 1 to 65535")
            }
        }
        for key in ["chat_id", "api_url"] where kind != .telegram && fields[key] != nil {
            throw error(fields[key], field: "\(field).\(key)", "is only for a telegram webhook")
        }
        switch kind {
        case .telegram:
            if fields["url_env"] != nil {
                throw error(fields["url_env"], field: "\(field).url_env", "a telegram webhook takes token_env (the bot token) and chat_id; its URL is api_url/bot<token>/sendMessage")
            }
            let (name, token) = try secret("token_env")
            // It goes into the URL's path as is.
            guard token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ":_-".contains($0)) }) else {
                throw error(fields["token_env"], field: "\(field).token_env", "the value of \(name) is not a bot token (letters, digits, ':', '_', '-')")
            }
            guard let chatNode = fields["chat_id"] else {
                throw error(node, field: "\(field).chat_id", "is required for a telegram webhook: the chat's id (e.g. \"-1001234567890\") or @channelname")
            }
            let chat = try nonEmptyString(chatNode, field: "\(field).chat_id")
            guard chat.utf8.count <= 64, chat.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw error(chatNode, field: "\(field).chat_id", "expected a chat id or @channelname of at most 64 printable characters")
            }
            var api = WebhookConfig.telegramAPI
            if let value = fields["api_url"] {
                let text = try nonEmptyString(value, field: "\(field).api_url")
                guard text.utf8.count <= 512 else { throw error(value, field: "\(field).api_url", "is longer than 512 bytes") }
                try checkURL(text, node: value, key: "api_url", what: "'\(text)'")
                api = text.hasSuffix("/") ? String(text.dropLast()) : text
            }
            return WebhookConfig(kind: kind, variable: name, url: Secret("\(api)/bot\(token)/sendMessage"), chatID: chat)
        case .discord, .slack, .json:
            if fields["token_env"] != nil { throw error(fields["token_env"], field: "\(field).token_env", "is only for a telegram webhook; give url_env") }
            let (name, url) = try secret("url_env")
            try checkURL(url, node: fields["url_env"], key: "url_env", what: "the value of \(name)")
            return WebhookConfig(kind: kind, variable: name, url: Secret(url))
        }
    }

    /// `off` (when allowed), a number of seconds, or a number with a unit: `90s`, `30m`, `6h`, `2d`.
    func alertDuration(_ node: Node, field: String, range: ClosedRange<Double>, off: Bool) throws(ConfigError) -> Double? {
        let problem = error(node, field: field, "expected \(off ? "'off' or " : "")a duration from \(Int(range.lowerBound))s to \(Self.durationText(range.upperBound)) such as 90s, 30m or 6h, got '\(node.string?.prefix(32) ?? "?")'")
        guard node.scalar != nil, let text = node.string?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty, text.utf8.count <= 32 else { throw problem }
        if off, text == "off" { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let multiplier = text.last.flatMap { units[$0] }
        guard let number = Double(multiplier == nil ? text : String(text.dropLast())), number.isFinite else { throw problem }
        let seconds = number * (multiplier ?? 1)
        guard range.contains(seconds) else { throw problem }
        return seconds
    }

    static func durationText(_ seconds: Double) -> String {
        seconds >= 86_400 && seconds.truncatingRemainder(dividingBy: 86_400) == 0 ? "\(Int(seconds / 86_400))d" : "\(Int(seconds))s"
    }
}
