/// Finds the first `number operator number` in a question (`What is 2+2?`, `12 * 3`) and
/// computes it, so the mock's answers score as correct in the validator's reward.
enum ArithmeticAnswer {
    static func evaluate(_ text: String) -> Double? {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func skipSpaces() { while index < scalars.count, scalars[index] == " " { index += 1 } }
        func number() -> Double? {
            let start = index
            while index < scalars.count, scalars[index].properties.numericType == .decimal || scalars[index] == "." {
                index += 1
            }
            return index > start ? Double(String(String.UnicodeScalarView(scalars[start..<index]))) : nil
        }
        while index < scalars.count {
            let start = index
            if let left = number() {
                skipSpaces()
                if index < scalars.count, "+-*/×÷x".unicodeScalars.contains(scalars[index]) {
                    let op = scalars[index]
                    index += 1
                    skipSpaces()
                    if let right = number(), let value = apply(op, left, right) { return value }
                }
            }
            index = max(index, start + 1)
        }
        return nil
    }

    /// Nil for a division by zero, so the search goes on.
    private static func apply(_ op: Unicode.Scalar, _ left: Double, _ right: Double) -> Double? {
        switch op {
        case "+": left + right
        case "-": left - right
        case "*", "×", "x": left * right
        default: right == 0 ? nil : left / right
        }
    }

    /// `4` rather than `4.0`; up to six decimals otherwise.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(Double((value * 1e6).rounded() / 1e6))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
