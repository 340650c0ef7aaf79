import Foundation

/// Finds the arithmetic a question asks and computes it, so the mock's answers score as right:
/// the einstein validator's LaTeX problems (`$45+7=$`, `$33-30=$`, `$2\cdot2=$`,
/// `$40\div20=$`, `$67\div94=$`), bare or inside its query or a persona's rewrite, and plain
/// text (`What is 12 * 3?`). The mock answers whatever anyone sends, so this reads UTF-8 bytes
/// once per pass, bounds every number and never traps.
enum ArithmeticAnswer {
    /// The answer as the mock writes it (`52`, `-3`, `0.71`); nil when the text asks no `a op b`.
    static func answer(_ text: String) -> String? {
        evaluate(text).flatMap(format)
    }

    /// The first `a op b` inside a `$…$` span, else the first anywhere: a rewrite's own numbers
    /// ("I'm 12-13 years old") come before the problem, but not inside its dollars.
    static func evaluate(_ text: String) -> Value? {
        let bytes = Array(text.utf8)
        let dollar = UInt8(ascii: "$")
        var open = bytes.firstIndex(of: dollar)
        while let start = open, let end = bytes[(start + 1)...].firstIndex(of: dollar) {
            if let value = ArithmeticScanner.first(in: bytes[(start + 1)..<end]) { return value }
            open = bytes[(end + 1)...].firstIndex(of: dollar)
        }
        return ArithmeticScanner.first(in: bytes[...])
    }

    /// An operand or a result: integers stay exact, anything else is a double.
    enum Value: Equatable {
        case integer(Int64)
        case decimal(Double)

        var double: Double {
            switch self {
            case .integer(let value): Double(value)
            case .decimal(let value): value
            }
        }
    }

    static func apply(_ op: ArithmeticScanner.Operator, _ left: Value, _ right: Value) -> Value? {
        if case .integer(let a) = left, case .integer(let b) = right {
            let exact: (partialValue: Int64, overflow: Bool)? = switch op {
            case .plus: a.addingReportingOverflow(b)
            case .minus: a.subtractingReportingOverflow(b)
            case .times: a.multipliedReportingOverflow(by: b)
            // Operands have at most 18 digits, so `Int64.min / -1` cannot occur.
            case .divide: b != 0 && a % b == 0 ? (a / b, false) : nil
            }
            if let exact, !exact.overflow { return .integer(exact.partialValue) }
        }
        let a = left.double, b = right.double
        let value: Double? = switch op {
        case .plus: a + b
        case .minus: a - b
        case .times: a * b
        case .divide: b == 0 ? nil : a / b
        }
        return value.flatMap { $0.isFinite ? .decimal($0) : nil }
    }

    /// Integers as plain digits; anything else rounded to 2 decimals as Python's `round(x, 2)`
    /// does (the dataset's `fraction_to_decimal` reference; the scorer's error is then at most
    /// 0.005 over max(|reference|, 1)), without trailing zeros. printf rounds the exact binary
    /// value half to even, as CPython does.
    static func format(_ value: Value) -> String? {
        switch value {
        case .integer(let integer):
            return String(integer)
        case .decimal(let double):
            guard double.isFinite else { return nil }
            // Operands are bounded, so `double` is below 1e61 and the text a few dozen bytes.
            var text = String(format: "%.2f", double)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text == "-0" ? "0" : text
        }
    }
}
