/// One place alerts are posted. Its URL (or bot token) comes from an environment variable,
/// never from the config file, and is held as a `Secret`.
public struct WebhookConfig: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// `{"content": …}`
        case discord
        /// Bot API sendMessage: `{"chat_id": …, "text": …}`
        case telegram
        /// Slack-compatible incoming webhook (also Mattermost, Rocket.Chat): `{"text": …}`
        case slack
        /// `{"alert", "state", "subject", "message", "host", "at"}`
        case json
    }

    public var kind: Kind
    /// The variable the URL (telegram: the bot token) was read from: what messages name.
    public var variable: String
    /// The URL to POST to; for telegram, `api_url/bot<token>/sendMessage`.
    public var url: Secret
    /// Telegram only: the chat, channel (`@name`) or group (`-100…`) to post to.
    public var chatID: String?

    public init(kind: Kind, variable: String, url: Secret, chatID: String? = nil) {
        self.kind = kind
        self.variable = variable
        self.url = url
        self.chatID = chatID
    }

    /// `discord (DISCORD_WEBHOOK_URL)`: never the URL.
    public var description: String { "\(kind.rawValue) (\(variable))" }

    public static let telegramAPI = "https://api.telegram.org"
}
