/// Tells whether `the final answer is:` (any case) has been streamed, across batch boundaries.
/// The subnet's reward reads the numbers after it, so a partial answer that carries it scores.
///
/// A byte-at-a-time matcher (Knuth–Morris–Pratt), so each batch costs one pass over its bytes
/// and nothing is copied or allocated.
public struct FinalAnswerDetector: Sendable {
    public static let marker = Array("the final answer is:".utf8)
    /// For each matched length, the longest proper prefix of the marker that is also a suffix.
    private static let fallback: [Int] = {
        var table = [Int](repeating: 0, count: marker.count + 1)
        var length = 0
        for index in 1..<marker.count {
            while length > 0 && marker[index] != marker[length] { length = table[length] }
            if marker[index] == marker[length] { length += 1 }
            table[index + 1] = length
        }
        return table
    }()

    public private(set) var found = false
    /// How much of the marker the text seen so far ends with.
    private var matched = 0

    public init() {}

    public mutating func observe(_ text: String) {
        guard !found else { return }
        for byte in text.utf8 {
            // ASCII lower-casing is enough: the marker is ASCII and bytes of other characters
            // are never ASCII letters in UTF-8.
            let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            while matched > 0 && lower != Self.marker[matched] { matched = Self.fallback[matched] }
            if lower == Self.marker[matched] { matched += 1 }
            if matched == Self.marker.count {
                found = true
                return
            }
        }
    }
}
