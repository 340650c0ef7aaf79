/// Numbers in headers are decimal text only: digits with an optional sign, point and exponent,
/// as Python's `float()`/`int()` write them. `Double.init` would also take `0x10`, `inf` and
/// `nan`, which no dendrite sends and which nothing downstream should have to handle.
public enum DecimalText {
    /// A finite decimal number, or nil.
    public static func double(_ text: Substring) -> Double? {
        var index = text.startIndex
        func digits() -> Int {
            var count = 0
            while index < text.endIndex, let ascii = text[index].asciiValue, (48...57).contains(ascii) {
                count += 1
                index = text.index(after: index)
            }
            return count
        }
        if index < text.endIndex, text[index] == "+" || text[index] == "-" { index = text.index(after: index) }
        var mantissa = digits()
        if index < text.endIndex, text[index] == "." {
            index = text.index(after: index)
            mantissa += digits()
        }
        guard mantissa > 0 else { return nil }
        if index < text.endIndex, text[index] == "e" || text[index] == "E" {
            index = text.index(after: index)
            if index < text.endIndex, text[index] == "+" || text[index] == "-" { index = text.index(after: index) }
            guard digits() > 0 else { return nil }
        }
        guard index == text.endIndex, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// A decimal integer that fits `T`, or nil.
    public static func integer<T: FixedWidthInteger>(_ text: Substring, as type: T.Type = T.self) -> T? {
        let unsigned = text.first == "+" || text.first == "-" ? text.dropFirst() : text
        guard !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return T(text, radix: 10)
    }
}
