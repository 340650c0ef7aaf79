/// Tells whether `the final answer is:` (any case) has been streamed, across batch boundaries.
/// The subnet's reward reads the numbers after it, so a partial answer that carries it scores.
public struct FinalAnswerDetector: Sendable {
    public static let marker = Array("the final answer is:".utf8)
    public private(set) var found = false
    /// The end of the text seen so far, long enough to hold a marker cut across two batches.
    private var tail: [UInt8] = []

    public init() {}

    public mutating func observe(_ text: String) {
        guard !found else { return }
        // ASCII lower-casing is enough: the marker is ASCII and bytes of other characters
        // are never ASCII letters in UTF-8.
        let bytes = tail + text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        if bytes.contains(Self.marker) {
            found = true
            return
        }
        tail = Array(bytes.suffix(Self.marker.count - 1))
    }
}
