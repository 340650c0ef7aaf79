import Foundation

/// A math-dataset problem: LaTeX as the generator writes it and its reference, the solution
/// string the validator scores against (`"52"`, `"0.71"`, `"2.0"`).
public struct MathProblem: Sendable, Equatable {
    public var latex: String
    public var reference: String

    public var referenceValue: Double { Double(reference) ?? .nan }
}

/// The einstein validator's arithmetic: mathgenerator's basic_math `addition`, `subtraction`,
/// `multiplication`, `division` (ranges of VALIDATOR-QUESTIONS.md §2.A) and
/// `fraction_to_decimal`, each drawn from CPython's generator seeded as the doc's examples are.
enum BasicMath {
    static let seedBase: UInt64 = 35 * 100_003
    /// `fraction_to_decimal` draws from seeds of its own, far from the others'.
    static let decimalSeedBase: UInt64 = seedBase + 1_000_000

    /// Problem `index` of the simulator's mix: of every five, four are the §2.A sequence (the
    /// four operations in turn, `seed(35*100003 + j)` for the j-th), the fifth a decimal one.
    static func problem(_ index: Int) -> MathProblem {
        let block = UInt64(index / 5), slot = index % 5
        guard slot < 4 else { return fractionToDecimal(seed: decimalSeedBase &+ block) }
        return arithmetic(Int(block) * 4 + slot)
    }

    /// Row `j` of §2.A: `random.seed(35*100003 + j)`, then the operation `j % 4`.
    static func arithmetic(_ j: Int) -> MathProblem {
        var random = PythonRandom(seed: seedBase &+ UInt64(j))
        switch j % 4 {
        case 0:
            let a = random.randint(0, 50), b = random.randint(0, min(99 - a, 50))
            return MathProblem(latex: "$\(a)+\(b)=$", reference: String(a + b))
        case 1:
            let a = random.randint(0, 99), b = random.randint(max(0, a - 99), a)
            return MathProblem(latex: "$\(a)-\(b)=$", reference: String(a - b))
        case 2:
            let a = random.randint(0, 12), b = random.randint(0, 12)
            return MathProblem(latex: "$\(a)\\cdot\(b)=$", reference: String(a * b))
        default:
            let a = random.randint(1, 25), b = random.randint(1, 25)
            let divisor = random.choice([a, b])
            return MathProblem(latex: "$\(a * b)\\div\(divisor)=$", reference: String(a * b / divisor))
        }
    }

    /// `fraction_to_decimal`: a∈[0,99], b∈[1,99], reference `str(round(a / b, 2))`.
    static func fractionToDecimal(seed: UInt64) -> MathProblem {
        var random = PythonRandom(seed: seed)
        let a = random.randint(0, 99), b = random.randint(1, 99)
        return MathProblem(latex: "$\(a)\\div\(b)=$", reference: pythonRounded(Double(a) / Double(b)))
    }

    /// `str(round(x, 2))` for |x| < 1e15: printf rounds the exact binary value half to even
    /// as CPython's `round` does; `repr` then drops trailing zeros but keeps one (`2.0`).
    static func pythonRounded(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return text
    }
}
