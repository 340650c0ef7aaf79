/// Reads `a op b` from UTF-8 bytes, left to right, each byte a bounded number of times.
///
/// Operators: `+ - * / x × ÷ · ⋅ −` and LaTeX's `\cdot \times \div`. A number is ASCII digits
/// with an optional fraction (`12`, `0.5`, `.5`); a sign belongs to it only where no digit
/// precedes it, so `33-30` is a subtraction and `5+-3` adds a negative. Numbers of more than
/// 30 digits are not read (a reply to them would be a guess anyway).
struct ArithmeticScanner {
    enum Operator { case plus, minus, times, divide }

    static let maxDigits = 30

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    private init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    static func first(in bytes: ArraySlice<UInt8>) -> ArithmeticAnswer.Value? {
        var scanner = Self(bytes)
        return scanner.first()
    }

    /// The value of the first `a op b` that computes (a division by zero does not). A chain
    /// such as `2+3*4` is passed over whole rather than half-read as `2+3`.
    private mutating func first() -> ArithmeticAnswer.Value? {
        while index < bytes.endIndex {
            let start = index
            if let left = operand() {
                skipSpaces()
                if let op = op() {
                    skipSpaces()
                    if let right = operand(), !skipChain(), let value = ArithmeticAnswer.apply(op, left, right) {
                        return value
                    }
                }
            }
            index = max(index, start + 1)
        }
        return nil
    }

    /// Consumes any further `op operand` pairs; true when there were some.
    private mutating func skipChain() -> Bool {
        var chained = false
        while true {
            let save = index
            skipSpaces()
            guard op() != nil else { index = save; return chained }
            skipSpaces()
            guard operand() != nil else { index = save; return chained }
            chained = true
        }
    }

    private mutating func skipSpaces() {
        while index < bytes.endIndex, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
    }

    private func isDigit(_ at: Int) -> Bool {
        at < bytes.endIndex && bytes[at] >= 0x30 && bytes[at] <= 0x39
    }

    /// A number at `index`, consumed; nil (nothing consumed) when there is none there, or nil
    /// with its digits consumed when it is too long.
    private mutating func operand() -> ArithmeticAnswer.Value? {
        var at = index
        var negative = false
        let signed = at < bytes.endIndex && (bytes[at] == UInt8(ascii: "-") || bytes[at] == UInt8(ascii: "+"))
        if signed {
            let follows = isDigit(at + 1) || (at + 2 < bytes.endIndex && bytes[at + 1] == UInt8(ascii: ".") && isDigit(at + 2))
            let afterDigit = at > bytes.startIndex && (isDigit(at - 1) || bytes[at - 1] == UInt8(ascii: "."))
            guard follows, !afterDigit else { return nil }
            negative = bytes[at] == UInt8(ascii: "-")
            at += 1
        }
        let digitsStart = at
        while isDigit(at) { at += 1 }
        let integerDigits = at - digitsStart
        var fractionDigits = 0
        if at < bytes.endIndex, bytes[at] == UInt8(ascii: "."), isDigit(at + 1) {
            at += 1
            while isDigit(at) { at += 1 }
            fractionDigits = at - digitsStart - integerDigits - 1
        }
        guard integerDigits + fractionDigits > 0 else { return nil }
        index = at
        guard integerDigits + fractionDigits <= Self.maxDigits else { return nil }
        if fractionDigits == 0, integerDigits <= 18 {
            var value: Int64 = 0
            for byte in bytes[digitsStart..<at] { value = value * 10 + Int64(byte - 0x30) }
            return .integer(negative ? -value : value)
        }
        let text = "0" + String(decoding: bytes[digitsStart..<at], as: UTF8.self)
        guard let value = Double(text) else { return nil }
        return .decimal(negative ? -value : value)
    }

    private static let operators: [([UInt8], Operator)] = ([
        ("+", .plus), ("-", .minus), ("−", .minus), ("*", .times), ("x", .times), ("×", .times), ("·", .times),
        ("⋅", .times), ("\\cdot", .times), ("\\times", .times), ("/", .divide), ("÷", .divide), ("\\div", .divide),
    ] as [(String, Operator)]).map { (Array($0.0.utf8), $0.1) }

    /// An operator at `index`, consumed. A LaTeX command must end there (`\divide` is not `\div`).
    private mutating func op() -> Operator? {
        for (symbol, op) in Self.operators where bytes[index...].starts(with: symbol) {
            let end = index + symbol.count
            if symbol.first == UInt8(ascii: "\\"), end < bytes.endIndex, (bytes[end] | 0x20) >= 0x61, (bytes[end] | 0x20) <= 0x7A {
                continue
            }
            index = end
            return op
        }
        return nil
    }
}
