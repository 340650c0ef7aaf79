/// The synapse's `roles`/`messages` as chat turns: earlier turns pass through, the last one is
/// the question, decoded from the validators' form encoding when it is form-encoded.
public struct ChatTurn: Sendable, Equatable {
    public var role: String
    public var text: String

    public init(role: String, text: String) {
        self.role = role
        self.text = text
    }
}

extension GenerationRequest {
    /// The conversation, with `system` first when given.
    public func chatTurns(system: String?) -> [ChatTurn] {
        var turns: [ChatTurn] = system.map { [ChatTurn(role: "system", text: $0)] } ?? []
        for (index, message) in messages.enumerated() {
            let role = index < roles.count ? roles[index] : "user"
            let text = index == messages.count - 1 ? Question(message: message).text : message
            turns.append(ChatTurn(role: role, text: text))
        }
        return turns
    }
}
