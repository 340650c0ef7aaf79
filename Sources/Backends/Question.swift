/// `messages[-1]` as validators build it: `urlencode({"question_text": ..., "question_type": ...})`.
/// Text that is not form-encoded passes through unchanged as the question.
public struct Question: Sendable, Equatable {
    public var text: String
    public var type: String?

    public init(text: String, type: String? = nil) {
        self.text = text
        self.type = type
    }

    /// Decodes as Python's `parse_qs` does: `&`-separated `key=value` pairs, `+` for space,
    /// percent escapes; the first value of a repeated key wins.
    public init(message: String) {
        var fields: [String: String] = [:]
        for pair in message.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = Self.formDecode(pair[..<equals])
            if fields[key] == nil { fields[key] = Self.formDecode(pair[pair.index(after: equals)...]) }
        }
        if let text = fields["question_text"] {
            self.init(text: text, type: fields["question_type"])
        } else {
            self.init(text: message)
        }
    }

    static func formDecode(_ part: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(part.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        // Invalid UTF-8 becomes U+FFFD, as `parse_qs(errors="replace")` does.
        return String(decoding: bytes, as: UTF8.self)
    }
}
