/// The einstein subnet's `float_diff` reward: the answer's number against the reference,
/// 1 when equal, falling linearly with the relative error to 0 at 100 % (and at 99.9 %).
///
/// The number is the last word of the answer that reads as one (trailing dots stripped,
/// thousands commas removed), looked for after the last `the final answer is:` when the
/// answer has one. Plain numbers and `a/b` fractions are read; the subnet also evaluates
/// symbolic expressions, which a mock never produces.
public enum FloatDiffReward {
    public static func score(reference: Double, completion: String) -> Double {
        guard let predicted = number(in: completion) else { return 0 }
        if predicted == reference { return 1 }
        var difference = min(abs((reference - predicted) / (reference + 1e-10)), 1)
        if difference > 0.999 { difference = 1 }
        return 1 - difference
    }

    public static func number(in completion: String) -> Double? {
        var bytes = Array(completion.utf8)
        if let end = FinalAnswer.lastMarkerEnd(in: bytes) { bytes.removeSubrange(..<end) }
        for word in bytes.split(whereSeparator: FinalAnswer.isSpace).reversed() {
            var cleaned = word.filter { $0 != UInt8(ascii: ",") }[...]
            while cleaned.first == UInt8(ascii: ".") { cleaned.removeFirst() }
            while cleaned.last == UInt8(ascii: ".") { cleaned.removeLast() }
            let text = String(decoding: cleaned, as: UTF8.self)
            if let value = Double(text), value.isFinite { return value }
            let parts = text.split(separator: "/")
            if parts.count == 2, let top = Double(parts[0]), let bottom = Double(parts[1]), bottom != 0 { return top / bottom }
        }
        return nil
    }
}

/// `the final answer is:`, the phrase the subnet's reward reads the number after.
public enum FinalAnswer {
    public static let marker = Array("the final answer is:".utf8)

    public static func arrived(in completion: String) -> Bool {
        lastMarkerEnd(in: Array(completion.utf8)) != nil
    }

    /// Where the last occurrence of the marker (any case) ends.
    static func lastMarkerEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        var start = bytes.count - marker.count
        while start >= 0 {
            var index = 0
            while index < marker.count {
                let byte = bytes[start + index]
                // ASCII lower-casing: the marker is ASCII, and no byte of another character is.
                if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != marker[index] { break }
                index += 1
            }
            if index == marker.count { return start + marker.count }
            start -= 1
        }
        return nil
    }

    /// ASCII whitespace, as Python's `str.split()` sees it in these answers.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Whitespace-separated words in a read.
    static func wordCount<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int {
        var count = 0, inWord = false
        for byte in bytes {
            let space = isSpace(byte)
            if !space && !inWord { count += 1 }
            inWord = !space
        }
        return count
    }
}
