import Foundation

/// One message to post: an alert firing (first or again), or resolved.
public struct AlertMessage: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case firing
        case resolved
    }

    public var alert: Alert
    public var state: State
    /// Unix seconds the condition was first seen.
    public var since: Double
    /// Unix seconds of this message.
    public var at: Double
    /// This machine, so one channel can serve a fleet.
    public var host: String
    /// A repeat of a condition still there.
    public var repeated = false
    /// `miners alerts test`: an example, not a real condition.
    public var test = false

    public init(alert: Alert, state: State, since: Double, at: Double, host: String, repeated: Bool = false, test: Bool = false) {
        self.alert = alert
        self.state = state
        self.since = since
        self.at = at
        self.host = host
        self.repeated = repeated
        self.test = test
    }

    /// Messages are cut to this many characters (Discord takes 2000 at most).
    public static let maxCharacters = 1800

    /// `[FIRING] crash-looping: miner 'a' on gpu-1: crash-looping: 5 restarts within 60 s`
    public var text: String {
        let head = switch state {
        case .firing: repeated ? "[STILL FIRING for \(Self.duration(at - since))]" : "[FIRING]"
        case .resolved: "[RESOLVED after \(Self.duration(at - since))]"
        }
        let subject = alert.subject.isEmpty ? "" : " \(alert.noun) '\(alert.subject)'"
        var text = (test ? "[TEST] " : "") + "\(head) \(alert.kind.title):\(subject) on \(host)"
        if state == .firing || test { text += ": \(alert.detail)" }
        return text.count > Self.maxCharacters ? String(text.prefix(Self.maxCharacters - 1)) + "…" : text
    }

    /// `45s`, `12m`, `3h05m`, `2d04h`.
    static func duration(_ seconds: Double) -> String {
        // Times come from the log database too (a restored alert's `since`, a request's
        // `received_at`): an absurd or infinite one must not trap the conversion.
        guard seconds.isFinite else { return "?" }
        let s = Int(min(max(seconds.rounded(), 0), 1e12))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
        return String(format: "%dd%02dh", s / 86_400, s % 86_400 / 3600)
    }
}
