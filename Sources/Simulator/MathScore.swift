/// The einstein validator's `math_score(reference, completion)` (`einstein/rewards/
/// advanced_math.py`, VALIDATOR-QUESTIONS.md §3), which is what its `advanced_math` reward
/// gives a math task: numbers of the line after the first `the final answer is` (or of the
/// whole completion without one) against the reference's numbers, both sorted and paired.
/// Numbers are doubles here (Python's ints are exact; no answer of a mock is that long).
public enum MathScore {
    public static func score(reference: String, completion: String) -> Double {
        let answer = finalAnswer(in: Array(completion.unicodeScalars)).map { numbers(in: $0) }
        let predicted = (answer ?? numbers(in: Array(completion.unicodeScalars)[...])).sorted()
        let expected = numbers(in: Array(reference.unicodeScalars)[...]).sorted()
        let pairs = zip(expected, predicted).map { reference, value -> Double in
            let score = 1 - abs(reference - value) / max(abs(reference), 1)
            return score.isFinite ? max(0, min(1, score)) : 0
        }
        return pairs.isEmpty ? 0 : pairs.reduce(0, +) / Double(pairs.count)
    }

    /// A reference as the dataset writes it: `52` for an integer, else Python's float repr
    /// (which Swift's shortest round-trip form matches: `0.71`, `6.25e-06`).
    public static func referenceText(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static let marker = Array("the final answer is".unicodeScalars)

    /// `re.search(r"the final answer is\:?\s*(.+)", text, re.IGNORECASE)`, group 1: the first
    /// occurrence that matches, with the regex's backtracking (`\s*` may cross lines, `.+`
    /// needs one character that is not a newline and runs to the end of its line).
    static func finalAnswer(in text: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar>? {
        var start = 0
        while start + marker.count <= text.count {
            defer { start += 1 }
            guard zip(text[start...], marker).allSatisfy({ lowered($0) == $1 }) else { continue }
            let afterMarker = start + marker.count
            let colon = afterMarker < text.count && text[afterMarker] == ":"
            for from in colon ? [afterMarker + 1, afterMarker] : [afterMarker] {
                var spacesEnd = from
                while spacesEnd < text.count, isSpace(text[spacesEnd]) { spacesEnd += 1 }
                for begin in stride(from: spacesEnd, through: from, by: -1) where begin < text.count && text[begin] != "\n" {
                    let end = text[begin...].firstIndex(of: "\n") ?? text.count
                    return text[begin..<end]
                }
            }
        }
        return nil
    }

    /// `re.findall(r"[-+]?\d*\.\d+|\d+", text)`: a sign only on decimals; `\d` any decimal digit.
    static func numbers(in text: ArraySlice<Unicode.Scalar>) -> [Double] {
        var values: [Double] = []
        var index = text.startIndex
        func digits(from start: Int) -> Int {
            var end = start
            while end < text.endIndex, digit(text[end]) != nil { end += 1 }
            return end
        }
        while index < text.endIndex {
            let signed = text[index] == "-" || text[index] == "+"
            let integerEnd = digits(from: signed ? index + 1 : index)
            if integerEnd < text.endIndex, text[integerEnd] == ".", digits(from: integerEnd + 1) > integerEnd + 1 {
                let end = digits(from: integerEnd + 1)
                values.append(value(text[index..<end]))
                index = end
            } else if !signed, integerEnd > index {
                values.append(value(text[index..<integerEnd]))
                index = integerEnd
            } else {
                index += 1
            }
        }
        return values
    }

    private static func value(_ scalars: ArraySlice<Unicode.Scalar>) -> Double {
        var ascii = ""
        for scalar in scalars { ascii.append(digit(scalar).map { Character(String($0)) } ?? Character(scalar)) }
        return Double(ascii) ?? .nan
    }

    private static func digit(_ scalar: Unicode.Scalar) -> Int? {
        guard scalar.properties.numericType == .decimal, let value = scalar.properties.numericValue else { return nil }
        return Int(value)
    }

    private static func lowered(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value | 0x20)! : scalar
    }

    /// Python's `\s` in a str pattern: `str.isspace()`.
    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}
