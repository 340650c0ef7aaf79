import Foundation

/// The questions a simulated validator asks, each with the reference answer when it is known.
public enum QuestionMix: Sendable, Equatable, CustomStringConvertible {
    /// `What is A op B?` with small integers, different per request and the same in every run.
    case arithmetic
    /// One fixed question; `reference` scores its answers when given.
    case fixed(text: String, reference: Double?)

    public struct Item: Sendable, Equatable {
        /// The synapse's message: `question_text=...&question_type=...`, form-encoded as the
        /// einstein validator sends it.
        public var message: String
        public var text: String
        public var reference: Double?
    }

    public func question(_ index: Int) -> Item {
        switch self {
        case .arithmetic:
            // A cheap deterministic mix (an LCG step) so runs are comparable.
            let mixed = UInt64(truncatingIfNeeded: index) &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let a = Int((mixed >> 33) % 90) + 2, b = Int((mixed >> 17) % 90) + 2
            let (symbol, value): (String, Double) = switch mixed % 3 {
            case 0: ("+", Double(a + b))
            case 1: ("-", Double(a - b))
            default: ("*", Double(a * b))
            }
            let text = "What is \(a) \(symbol) \(b)?"
            return Item(message: Self.formEncoded(text, type: "arithmetic"), text: text, reference: value)
        case .fixed(let text, let reference):
            return Item(message: Self.formEncoded(text, type: nil), text: text, reference: reference)
        }
    }

    /// As Python's `urlencode`: spaces become `+`, everything but letters, digits and `_.-~` is %-escaped.
    static func formEncoded(_ text: String, type: String?) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~ ")
        func encode(_ value: String) -> String {
            (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value).replacingOccurrences(of: " ", with: "+")
        }
        return "question_text=" + encode(text) + (type.map { "&question_type=" + encode($0) } ?? "")
    }

    public var description: String {
        switch self {
        case .arithmetic: "arithmetic"
        case .fixed(let text, _): text
        }
    }
}
