import TestSupport
import Testing
@testable import Backends

/// The mock's answers to the einstein validator's math problems (VALIDATOR-QUESTIONS.md §2.A,
/// `fraction_to_decimal`), however they are posed, and to whatever else anyone sends.
@Suite struct ArithmeticAnswerTests {
    static let table = EinsteinExamples.table

    static func query(_ problem: String) -> String {
        "How can I solve the following problem, \(problem)? Make sure to include the whole problem when you ask your question."
    }

    func answer(_ text: String) -> String {
        MockBackend.answer(to: Question(text: text))
    }

    @Test func everyExampleOfTheDatasetBareAndInTheQuery() {
        for (problem, reference) in Self.table {
            let expected = "The answer is \(reference). So the final answer is: \(reference)"
            #expect(answer(problem) == expected, "\(problem)")
            #expect(answer(Self.query(problem)) == expected, "\(problem)")
        }
    }

    @Test func theQueryFormEncodedAsTheValidatorSendsIt() {
        let message = "question_text=How+can+I+solve+the+following+problem%2C+%2440%5Cdiv20%3D%24%3F+Make+sure+to+include+the+whole+problem+when+you+ask+your+question.&question_markdown=&question_type="
        #expect(MockBackend.answer(to: Question(message: message)) == "The answer is 2. So the final answer is: 2")
        // Turn 2 sends the raw query, which does not decode to a question_text: the mock reads it whole.
        #expect(MockBackend.answer(to: Question(message: Self.query("$45+7=$"))) == "The answer is 52. So the final answer is: 52")
    }

    /// `fraction_to_decimal`'s reference is `round(a / b, 2)`: the mock answers the same digits,
    /// rounding the binary value half to even as Python does (0.125 → 0.12, 0.025 → 0.03).
    @Test(arguments: [
        ("$67\\div94=$", "0.71"), ("$13\\div45=$", "0.29"), ("$80\\div6=$", "13.33"), ("$1\\div8=$", "0.12"),
        ("$3\\div8=$", "0.38"), ("$1\\div40=$", "0.03"), ("$10\\div5=$", "2"), ("$0\\div94=$", "0"),
        ("$7\\div2=$", "3.5"), ("$2.5\\times4=$", "10"), ("$-0.001\\cdot1=$", "0"), ("$1.5+.25=$", "1.75"),
    ])
    func decimals(problem: String, expected: String) {
        #expect(ArithmeticAnswer.answer(problem) == expected)
    }

    @Test(arguments: [
        ("$33-30=$", "3"), ("$5+-3=$", "2"), ("$5--3=$", "8"), ("$-5+3=$", "-2"), ("$5 - -14=$", "19"),
        ("$5\\cdot-3=$", "-15"), ("$-12\\div4=$", "-3"), ("$3\\times 7=$", "21"), ("$6 \\div 3 =$", "2"),
        ("$6÷3=$", "2"), ("$6·3=$", "18"), ("$6⋅3=$", "18"), ("$6−3=$", "3"),
    ])
    func operatorsAndSigns(problem: String, expected: String) {
        #expect(ArithmeticAnswer.answer(problem) == expected)
    }

    /// A persona's rewrite keeps the LaTeX problem but adds numbers of its own around it.
    @Test func theProblemInDollarsWinsOverOtherNumbers() {
        #expect(ArithmeticAnswer.answer("I'm 12-13 years old, my teacher gave me 2 sheets: how do I do $40\\div20=$?") == "2")
        #expect(ArithmeticAnswer.answer("Costs $5 and $7. But what is 3+4?") == "7")
    }

    @Test func whatIsNotASingleOperationGetsNoArithmetic() {
        for text in ["$2+3\\cdot4=$", "$6\\divide3=$", "$\\frac{8}{2}\\cdot\\frac{4}{3}=$", "$5x + 8 = 8$", "$\\sqrt{9}=$", "$7\\div0=$", "", "no numbers"] {
            #expect(ArithmeticAnswer.answer(text) == nil, "\(text)")
        }
        let other = MockBackend.answer(to: Question(text: "$2+3\\cdot4=$"))
        #expect(other.hasPrefix("The answer is ") && other == MockBackend.answer(to: Question(text: "$2+3\\cdot4=$")))
    }

    /// Anyone can send the mock anything: huge or endless numbers, overflow, odd characters.
    @Test func hostileInputIsAnsweredBoundedAndNeverTraps() {
        let long = String(repeating: "9", count: 5000)
        #expect(ArithmeticAnswer.answer("\(long)+1") == nil)
        #expect(ArithmeticAnswer.answer("$\(long)\\cdot\(long)=$ and then 2+2") == "4")
        // Past Int64 the product is a double, written in full digits.
        #expect(ArithmeticAnswer.answer("999999999999999999*999999999999999999") == "1000000000000000042420637374017961984")
        #expect(ArithmeticAnswer.answer("-999999999999999999-999999999999999999") == "-1999999999999999998")
        let widest = String(repeating: "9", count: 30)
        let product = ArithmeticAnswer.answer("\(widest)*\(widest)")
        #expect(product.map { $0.count < 70 && !$0.contains("e") } == true)
        #expect(ArithmeticAnswer.answer("0.\(String(repeating: "0", count: 28))1 * 0.5") == "0")
        #expect(ArithmeticAnswer.answer("٣ + ٤ 𝟙 × 𝟚 ½÷⅓ \u{0} \u{FFFD} $$$ $\\div$") == nil)
        #expect(ArithmeticAnswer.answer("1e308*1e308") == "308")
        // A megabyte of chains and spaces is read once: well under a second even in debug.
        let clock = ContinuousClock()
        let started = clock.now
        _ = ArithmeticAnswer.answer(String(repeating: "1+", count: 300_000) + String(repeating: " ", count: 300_000) + String(repeating: "$-", count: 100_000))
        #expect(clock.now - started < .seconds(20))  // a quadratic reading would take hours
        for text in ["\(long)", "$\(long)$", "-", "+.", ".", "1.", "1..2", "\\cdot", "x x x", "$$$$"] {
            let answer = MockBackend.answer(to: Question(text: text))
            #expect(answer.hasPrefix("The answer is ") && answer.utf8.count < 200)
        }
    }
}
