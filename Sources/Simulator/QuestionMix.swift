import Config
import Foundation

/// The questions a simulated validator asks, each with the reference answer when it is known.
public enum QuestionMix: Sendable, Equatable, CustomStringConvertible {
    /// Arithmetic with known answers, different per request and the same in every run, posed
    /// in a style (see `QuestionStyle`).
    case arithmetic(QuestionStyle)
    /// One fixed question; `reference` scores its answers when given.
    case fixed(text: String, reference: Double?)

    public struct Item: Sendable, Equatable {
        /// The synapse's message, form-encoded as the einstein validator sends it.
        public var message: String
        public var text: String
        public var reference: Double?
    }

    /// The einstein validator's query around a problem (VALIDATOR-QUESTIONS.md §1).
    public static func einsteinQuery(_ problem: String) -> String {
        "How can I solve the following problem, " + problem + "? Make sure to include the whole problem when you ask your question."
    }

    public func question(_ index: Int) -> Item {
        switch self {
        case .arithmetic(.einstein):
            let problem = BasicMath.problem(index)
            return Self.asked(Self.einsteinQuery(problem.latex), reference: problem.referenceValue)
        case .arithmetic(.problem):
            let problem = BasicMath.problem(index)
            return Self.asked(problem.latex, reference: problem.referenceValue)
        case .arithmetic(.plain):
            return Self.plain(index)
        case .fixed(let text, let reference):
            return Item(message: Self.formEncoded(text, type: nil), text: text, reference: reference)
        }
    }

    /// As the validator sends a challenge: `urlencode({"question_text": text,
    /// "question_markdown": "", "question_type": ""})`.
    static func asked(_ text: String, reference: Double) -> Item {
        let message = "question_text=" + quotePlus(text) + "&question_markdown=&question_type="
        return Item(message: message, text: text, reference: reference)
    }

    /// `What is A op B?` with small integers, from a cheap deterministic mix (an LCG step).
    static func plain(_ index: Int) -> Item {
        let mixed = UInt64(truncatingIfNeeded: index) &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let a = Int((mixed >> 33) % 90) + 2, b = Int((mixed >> 17) % 90) + 2
        let (symbol, value): (String, Double) = switch mixed % 3 {
        case 0: ("+", Double(a + b))
        case 1: ("-", Double(a - b))
        default: ("*", Double(a * b))
        }
        let text = "What is \(a) \(symbol) \(b)?"
        return Item(message: formEncoded(text, type: "arithmetic"), text: text, reference: value)
    }

    static func formEncoded(_ text: String, type: String?) -> String {
        "question_text=" + quotePlus(text) + (type.map { "&question_type=" + quotePlus($0) } ?? "")
    }

    /// Python's `quote_plus` (what `urlencode` applies): UTF-8, letters, digits and `_.-~`
    /// kept, space as `+`, every other byte as `%XX` in upper case.
    static func quotePlus(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~ ")
        return (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value).replacingOccurrences(of: " ", with: "+")
    }

    public var description: String {
        switch self {
        case .arithmetic(let style): "arithmetic (\(style.rawValue))"
        case .fixed(let text, _): text
        }
    }
}
