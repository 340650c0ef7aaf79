import Foundation

/// A webhook URL or token: it never shows in a description, a dump or a log line, so a config
/// printed for debugging leaks nothing.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<secret>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// `text` with every occurrence of the secret replaced: error texts of HTTP clients may
    /// quote the URL.
    public func redact(_ text: String) -> String {
        value.isEmpty ? text : text.replacingOccurrences(of: value, with: description)
    }
}
