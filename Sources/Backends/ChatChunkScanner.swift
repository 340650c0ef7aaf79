/// The fast path of `ChatCompletionStream.decode`: one pass over an event's UTF-8 bytes that
/// validates the whole text as JSON (RFC 8259) and keeps only what a `Chunk` holds: each
/// choice's `delta.content`, `delta.reasoning_content` and `delta.reasoning`, and `usage`'s
/// two counts.
///
/// It answers nil whenever its chunk could differ from the one `JSONSerialization` gives:
/// invalid JSON (Foundation words the failure), a non-null `error` (the error path), a name it
/// reads written with escapes or twice in one object, a field of an unexpected type, a count
/// that is not a plain integer, nesting past `maxDepth`, a number Foundation might refuse, and
/// whatever else Foundation decides in its own way (trailing commas, a byte-order mark).
public enum ChatChunkScanner {
    public typealias Chunk = ChatCompletionStream.Chunk

    /// Deeper than any server's chunk; deeper events are left to Foundation (which allows 512).
    static let maxDepth = 64

    public static func scan(_ data: String) -> Chunk? {
        data.utf8.withContiguousStorageIfAvailable { scan(utf8: $0) } ?? nil
    }

    /// The same for bytes that may not be UTF-8 (invalid UTF-8: nil).
    public static func scan(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Chunk? {
        var reader = Reader(bytes: bytes)
        return try? reader.chunk()
    }
}

/// Thrown for anything the scanner leaves to Foundation.
private struct Unsure: Error {}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0
    /// The text of the last kept string that had escapes, unescaped.
    var unescaped: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: The chunk's objects

    mutating func chunk() throws(Unsure) -> ChatChunkScanner.Chunk {
        var chunk = ChatChunkScanner.Chunk()
        skipWhitespace()
        guard peek() == .openBrace else { throw Unsure() }
        var seen = SeenNames()
        if try openObject() {
            repeat {
                let key = try readKey(plain: true)
                if matches(key, "choices") {
                    try seen.once(0)
                    if try !skipNull() { try choices(into: &chunk) }
                } else if matches(key, "usage") {
                    try seen.once(1)
                    if try !skipNull() { try usage(into: &chunk) }
                } else if matches(key, "error") {
                    try seen.once(2)
                    guard try skipNull() else { throw Unsure() }  // Foundation's path reports it
                } else {
                    try skipValue()
                }
            } while try nextMember()
        }
        skipWhitespace()
        guard index == bytes.count else { throw Unsure() }
        return chunk
    }

    /// Every element must be an object: Foundation's `as? [[String: Any]]` drops all the
    /// choices when one is not, which this leaves to it.
    private mutating func choices(into chunk: inout ChatChunkScanner.Chunk) throws(Unsure) {
        guard peek() == .openBracket else { throw Unsure() }
        guard try openArray() else { return }
        repeat {
            guard peek() == .openBrace else { throw Unsure() }
            var seen = SeenNames()
            guard try openObject() else { continue }
            repeat {
                let key = try readKey(plain: true)
                if matches(key, "delta") {
                    try seen.once(0)
                    if try !skipNull() { try delta(into: &chunk) }
                } else {
                    try skipValue()
                }
            } while try nextMember()
        } while try nextElement()
    }

    private mutating func delta(into chunk: inout ChatChunkScanner.Chunk) throws(Unsure) {
        guard peek() == .openBrace else { throw Unsure() }
        var content: String?, reasoningContent: String?, reasoning: String?
        var seen = SeenNames()
        if try openObject() {
            repeat {
                let key = try readKey(plain: true)
                if matches(key, "content") {
                    try seen.once(0)
                    content = try optionalText()
                } else if matches(key, "reasoning_content") {
                    try seen.once(1)
                    reasoningContent = try optionalText()
                } else if matches(key, "reasoning") {
                    try seen.once(2)
                    reasoning = try optionalText()
                } else {
                    try skipValue()
                }
            } while try nextMember()
        }
        // As `decodeWithFoundation`: an empty `reasoning_content` hides `reasoning`.
        if let thought = reasoningContent ?? reasoning, !thought.isEmpty {
            chunk.pieces.append(.thinking(thought))
        }
        if let content, !content.isEmpty {
            chunk.pieces.append(.answer(content))
        }
    }

    private mutating func usage(into chunk: inout ChatChunkScanner.Chunk) throws(Unsure) {
        guard peek() == .openBrace else { throw Unsure() }
        var seen = SeenNames()
        guard try openObject() else { return }
        repeat {
            let key = try readKey(plain: true)
            if matches(key, "prompt_tokens") {
                try seen.once(0)
                chunk.promptTokens = try count()
            } else if matches(key, "completion_tokens") {
                try seen.once(1)
                chunk.completionTokens = try count()
            } else {
                try skipValue()
            }
        } while try nextMember()
    }

    /// A string or null; any other type is Foundation's (`as? String`) to judge.
    private mutating func optionalText() throws(Unsure) -> String? {
        if try skipNull() { return nil }
        guard peek() == .quote else { throw Unsure() }
        let string = try string(keeping: true)
        if string.hasEscapes { return String(decoding: unescaped, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[string.content]), as: UTF8.self)
    }

    /// A token count: null, or a plain integer of at most 18 digits (exactly what Foundation's
    /// Int64 holds). Fractions, exponents, `-0` and longer numbers are Foundation's to convert.
    private mutating func count() throws(Unsure) -> Int? {
        if try skipNull() { return nil }
        let negative = peek() == .minus
        if negative { index += 1 }
        let start = index
        let digits = skipDigits()
        guard digits >= 1, digits <= 18, peek() != .dot, peek() != .lowerE, peek() != .upperE else { throw Unsure() }
        let value = integer(start..<index)
        guard bytes[start] != .digitZero || digits == 1, !(negative && value == 0) else { throw Unsure() }
        // As `decodeWithFoundation`: a count below zero is not believed.
        return negative ? nil : value
    }

    // MARK: Any JSON value, validated and skipped

    /// Skips the value that starts at `index` (whitespace before it already skipped). The
    /// recursion is bounded: `openObject` and `openArray` refuse past `maxDepth`.
    private mutating func skipValue() throws(Unsure) {
        guard let byte = peek() else { throw Unsure() }
        switch byte {
        case .quote:
            _ = try string(keeping: false)
        case .openBrace:
            guard try openObject() else { return }
            repeat {
                _ = try readKey(plain: false)
                try skipValue()
            } while try nextMember()
        case .openBracket:
            guard try openArray() else { return }
            repeat { try skipValue() } while try nextElement()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case .minus, .digitZero ... .digitNine: try skipNumber()
        default: throw Unsure()
        }
    }

    /// Skips a null value; false (nothing read) when the value is something else.
    private mutating func skipNull() throws(Unsure) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws(Unsure) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw Unsure() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Unsure() }
        index += count
    }

    /// RFC 8259's number, of a size Foundation surely accepts: it refuses a number a Double
    /// cannot hold (1e400, or 309 digits), so anything that might reach 10^300 is its to judge.
    private mutating func skipNumber() throws(Unsure) {
        if peek() == .minus { index += 1 }
        let integerStart = index
        if peek() == .digitZero {
            index += 1
        } else {
            guard skipDigits() > 0 else { throw Unsure() }
        }
        let integerDigits = index - integerStart
        if peek() == .dot {
            index += 1
            guard skipDigits() > 0 else { throw Unsure() }
        }
        var exponent = 0
        if peek() == .lowerE || peek() == .upperE {
            index += 1
            let negative = peek() == .minus
            if negative || peek() == .plus { index += 1 }
            let start = index
            guard skipDigits() > 0, index - start <= 4 else { throw Unsure() }
            exponent = negative ? -integer(start..<index) : integer(start..<index)
        }
        guard integerDigits + exponent <= 300 else { throw Unsure() }
    }

    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = peek(), byte.isDigit { index += 1 }
        return index - start
    }

    /// The value of the digits in `range` (at most 18 of them).
    private func integer(_ range: Range<Int>) -> Int {
        bytes[range].reduce(0) { $0 * 10 + Int($1 - .digitZero) }
    }

    // MARK: Strings

    /// Reads the string whose `"` is at `index`, validating it: escapes, UTF-16 surrogate
    /// pairs, UTF-8, no raw control characters. With `keeping`, a string with escapes leaves
    /// its text in `unescaped`.
    private mutating func string(keeping: Bool) throws(Unsure) -> (content: Range<Int>, hasEscapes: Bool, isASCII: Bool) {
        index += 1
        let start = index
        var segmentStart = index
        var hasEscapes = false
        var isASCII = true
        if keeping {
            unescaped.removeAll(keepingCapacity: true)
            try refuseByteOrderMark()
        }
        while true {
            guard index < bytes.count else { throw Unsure() }
            let byte = bytes[index]
            if byte == .quote { break }
            if byte == .backslash {
                if keeping { unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<index])) }
                hasEscapes = true
                try escape(keeping: keeping)
                segmentStart = index
                if keeping { try refuseByteOrderMark() }
            } else if byte < 0x20 {
                throw Unsure()
            } else if byte < 0x80 {
                index += 1
            } else {
                isASCII = false
                index += try utf8SequenceLength()
            }
        }
        if keeping, hasEscapes { unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<index])) }
        let content = start..<index
        index += 1
        return (content, hasEscapes, isASCII)
    }

    /// Foundation decodes a string in pieces split at its escapes and drops a byte-order mark
    /// at the start of each piece; such a string is left to it.
    private func refuseByteOrderMark() throws(Unsure) {
        if bytes.count - index >= 3, bytes[index] == 0xEF, bytes[index + 1] == 0xBB, bytes[index + 2] == 0xBF {
            throw Unsure()
        }
    }

    /// The escape at `index`: the eight single characters and `\uXXXX`, a high surrogate only
    /// with its low one (Foundation refuses a lone surrogate).
    private mutating func escape(keeping: Bool) throws(Unsure) {
        guard bytes.count - index >= 2 else { throw Unsure() }
        let scalar: UInt32
        switch bytes[index + 1] {
        case .quote: scalar = 0x22
        case .backslash: scalar = 0x5C
        case UInt8(ascii: "/"): scalar = 0x2F
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"):
            let unit = try utf16Escape(at: index)
            switch unit {
            case 0xD800...0xDBFF:
                let low = try utf16Escape(at: index + 6)
                guard (0xDC00...0xDFFF).contains(low) else { throw Unsure() }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                index += 6
            case 0xDC00...0xDFFF:
                throw Unsure()
            default:
                scalar = unit
            }
            index += 4
        default:
            throw Unsure()
        }
        index += 2
        if keeping, let scalar = Unicode.Scalar(scalar) {
            UTF8.encode(scalar) { unescaped.append($0) }
        }
    }

    /// The code unit of the `\uXXXX` at `position`.
    private func utf16Escape(at position: Int) throws(Unsure) -> UInt32 {
        guard bytes.count - position >= 6, bytes[position] == .backslash, bytes[position + 1] == UInt8(ascii: "u") else {
            throw Unsure()
        }
        var unit: UInt32 = 0
        for byte in bytes[(position + 2)..<(position + 6)] {
            let digit: UInt8
            switch byte {
            case .digitZero ... .digitNine: digit = byte - .digitZero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Unsure()
            }
            unit = unit << 4 | UInt32(digit)
        }
        return unit
    }

    /// The length of the well-formed UTF-8 sequence at `index` (Unicode's table 3-7: no
    /// overlong forms, no surrogates, nothing past U+10FFFF).
    private func utf8SequenceLength() throws(Unsure) -> Int {
        let lead = bytes[index]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F
        default: throw Unsure()
        }
        guard bytes.count - index >= length, second.contains(bytes[index + 1]) else { throw Unsure() }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { throw Unsure() }
        return length
    }

    // MARK: Structure

    /// Reads a member's key and its colon. In the chunk's own objects a key must be plain
    /// ASCII: another spelling of a name the chunk reads (`"\u0063ontent"`, or one after a
    /// byte-order mark, which Foundation drops) is Foundation's to resolve.
    private mutating func readKey(plain: Bool) throws(Unsure) -> Range<Int> {
        guard peek() == .quote else { throw Unsure() }
        let key = try string(keeping: false)
        if plain, key.hasEscapes || !key.isASCII { throw Unsure() }
        skipWhitespace()
        guard peek() == .colon else { throw Unsure() }
        index += 1
        skipWhitespace()
        return key.content
    }

    private func matches(_ key: Range<Int>, _ name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        for offset in 0..<key.count where bytes[key.lowerBound + offset] != name.utf8Start[offset] { return false }
        return true
    }

    /// Enters the object whose `{` is at `index`; true when a member follows (its key next).
    private mutating func openObject() throws(Unsure) -> Bool {
        try open(closedBy: .closeBrace)
    }

    private mutating func openArray() throws(Unsure) -> Bool {
        try open(closedBy: .closeBracket)
    }

    private mutating func open(closedBy close: UInt8) throws(Unsure) -> Bool {
        depth += 1
        guard depth <= ChatChunkScanner.maxDepth else { throw Unsure() }
        index += 1
        skipWhitespace()
        guard peek() == close else { return true }
        index += 1
        depth -= 1
        return false
    }

    /// After a member: true when another follows (its key next), false past the closing `}`.
    /// A trailing comma (which Foundation allows) fails at the key that must follow.
    private mutating func nextMember() throws(Unsure) -> Bool {
        try next(closedBy: .closeBrace)
    }

    private mutating func nextElement() throws(Unsure) -> Bool {
        try next(closedBy: .closeBracket)
    }

    private mutating func next(closedBy close: UInt8) throws(Unsure) -> Bool {
        skipWhitespace()
        guard let byte = peek() else { throw Unsure() }
        index += 1
        if byte == close {
            depth -= 1
            return false
        }
        guard byte == .comma else { throw Unsure() }
        skipWhitespace()
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }
}

/// Which of an object's names the chunk reads were seen: Foundation keeps the last of two
/// equal keys, and a chunk that says two things is left to it.
private struct SeenNames {
    var bits: UInt8 = 0

    mutating func once(_ name: UInt8) throws(Unsure) {
        guard bits & (1 << name) == 0 else { throw Unsure() }
        bits |= 1 << name
    }
}

private extension UInt8 {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
    static let digitZero = UInt8(ascii: "0")
    static let digitNine = UInt8(ascii: "9")

    var isDigit: Bool { self >= .digitZero && self <= .digitNine }
}
