/// Bounds on one batch besides its item count (`max_batch_chars`, `max_batch_tokens`): a
/// validator penalises chunks of more than 200 tokens, and a backend may hand over more than
/// a token at a time.
///
/// An item that would take a batch past a bound makes the batch go out first; an item that
/// passes a bound alone is cut into pieces that fit: at most `maxChars` characters, and at
/// most `maxTokens` UTF-8 bytes (a token is at least one byte, even in a byte-level BPE where
/// an emoji is several tokens, so such a piece is at most `maxTokens` tokens).
public struct BatchBounds: Sendable {
    /// Unicode scalars in one batch.
    public var maxChars: Int?
    public var maxTokens: Int?
    /// Tokens in a piece of text, by the backend's tokenizer; nil counts one per item.
    public var countTokens: (@Sendable (String) async -> Int)?

    public init(maxChars: Int? = nil, maxTokens: Int? = nil, countTokens: (@Sendable (String) async -> Int)? = nil) {
        precondition((maxChars ?? 1) > 0 && (maxTokens ?? 1) > 0, "batch bounds must be positive")
        self.maxChars = maxChars
        self.maxTokens = maxTokens
        self.countTokens = countTokens
    }

    public var isUnbounded: Bool { maxChars == nil && maxTokens == nil }

    /// What a piece of text weighs against the bounds.
    struct Weight {
        var chars = 0
        var tokens = 0

        static func + (a: Weight, b: Weight) -> Weight { Weight(chars: a.chars + b.chars, tokens: a.tokens + b.tokens) }
    }

    /// `item` cut at character (scalar) boundaries so that every piece fits a batch of its own.
    func pieces(of item: String) -> [String] {
        let maxScalars = maxChars ?? .max, maxBytes = maxTokens ?? .max
        let scalars = item.unicodeScalars
        if scalars.count <= maxScalars, item.utf8.count <= maxBytes { return [item] }
        var pieces: [String] = []
        var piece = String.UnicodeScalarView()
        var pieceScalars = 0, pieceBytes = 0
        for scalar in scalars {
            let bytes = UTF8.width(scalar)
            if pieceScalars > 0, pieceScalars + 1 > maxScalars || pieceBytes + bytes > maxBytes {
                pieces.append(String(piece))
                piece = String.UnicodeScalarView()
                pieceScalars = 0
                pieceBytes = 0
            }
            piece.append(scalar)
            pieceScalars += 1
            pieceBytes += bytes
        }
        if pieceScalars > 0 { pieces.append(String(piece)) }
        return pieces
    }

    func weight(of piece: String) async -> Weight {
        var weight = Weight(chars: maxChars == nil ? 0 : piece.unicodeScalars.count)
        if maxTokens != nil {
            // At least one, at most one per byte: a tokenizer's answer is bounded too.
            let counted = await countTokens?(piece) ?? 1
            weight.tokens = max(1, min(counted, max(1, piece.utf8.count)))
        }
        return weight
    }

    func exceeds(_ weight: Weight) -> Bool {
        weight.chars > (maxChars ?? .max) || weight.tokens > (maxTokens ?? .max)
    }

    func isFull(_ weight: Weight) -> Bool {
        weight.chars >= (maxChars ?? .max) || weight.tokens >= (maxTokens ?? .max)
    }
}
