import Config
import Foundation

/// The body a webhook of each kind takes for one message.
public enum WebhookPayload {
    public static func body(_ message: AlertMessage, for webhook: WebhookConfig) -> [UInt8] {
        let fields: [String: Any] = switch webhook.kind {
        case .discord: ["content": message.text]
        case .slack: ["text": message.text]
        case .telegram: ["chat_id": webhook.chatID ?? "", "text": message.text]
        case .json: [
            "alert": message.alert.kind.rawValue, "state": message.state.rawValue, "subject": message.alert.subject,
            "message": message.text, "host": message.host, "at": Int(message.at),
        ]
        }
        // Strings and integers only: serialisation cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }
}
