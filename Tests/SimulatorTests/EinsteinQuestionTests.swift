import Backends
import Config
import TestSupport
import Testing
@testable import Simulator

/// The simulator asks what the einstein validator asks (VALIDATOR-QUESTIONS.md §1–§2), and the
/// mock's answer to every form scores 1 with the validator's own `math_score`.
@Suite struct EinsteinQuestionTests {
    static let table = EinsteinExamples.table

    /// §1's two literal `messages[-1]` lines.
    static let cdotMessage = "question_text=How+can+I+solve+the+following+problem%2C+%242%5Ccdot2%3D%24%3F+Make+sure+to+include+the+whole+problem+when+you+ask+your+question.&question_markdown=&question_type="
    static let divMessage = "question_text=How+can+I+solve+the+following+problem%2C+%2440%5Cdiv20%3D%24%3F+Make+sure+to+include+the+whole+problem+when+you+ask+your+question.&question_markdown=&question_type="

    /// What the validator would score: the message as a miner decodes it, the mock's answer.
    func score(message: String, reference: String) -> Double {
        MathScore.score(reference: reference, completion: MockBackend.answer(to: Question(message: message)))
    }

    @Test func theGeneratorDrawsTheTableOfSection2A() {
        for (j, row) in Self.table.enumerated() {
            #expect(BasicMath.arithmetic(j) == MathProblem(latex: row.0, reference: row.1), "i \(j)")
        }
    }

    /// Four of every five questions are the §2.A sequence in order; the fifth a decimal one.
    @Test func theMixIsTheTableWithADecimalEveryFifth() {
        let problems = (0..<30).map { QuestionMix.arithmetic(.problem).question($0) }
        let arithmetic = problems.enumerated().filter { $0.offset % 5 != 4 }.map(\.element)
        #expect(arithmetic.map(\.text) == Self.table.map(\.0))
        #expect(arithmetic.map(\.reference) == Self.table.map { Double($0.1) })
        // `random.seed(35*100003 + 1000000 + k)` then `fraction_to_decimal()`, from Python.
        #expect(BasicMath.problem(4) == MathProblem(latex: "$13\\div45=$", reference: "0.29"))
        #expect(BasicMath.problem(9) == MathProblem(latex: "$53\\div85=$", reference: "0.62"))
        #expect(BasicMath.problem(14) == MathProblem(latex: "$10\\div14=$", reference: "0.71"))
        #expect(BasicMath.problem(49) == MathProblem(latex: "$80\\div6=$", reference: "13.33"))
        #expect(QuestionMix.arithmetic(.einstein).question(123) == QuestionMix.arithmetic(.einstein).question(123))
    }

    @Test func theMessageIsTheValidatorsBytes() {
        #expect(QuestionMix.arithmetic(.einstein).question(2).message == Self.cdotMessage)
        #expect(QuestionMix.arithmetic(.einstein).question(3).message == Self.divMessage)
        #expect(QuestionMix.arithmetic(.einstein).question(2).text == QuestionMix.einsteinQuery("$2\\cdot2=$"))
        #expect(QuestionMix.arithmetic(.problem).question(0).message == "question_text=%2445%2B7%3D%24&question_markdown=&question_type=")
        // ENC(problem) of §2.A, inside the problem pose.
        #expect(QuestionMix.arithmetic(.problem).question(2).message.contains("=%242%5Ccdot2%3D%24&"))
        #expect(QuestionMix.arithmetic(.problem).question(1).message.contains("=%2433-30%3D%24&"))
        #expect(QuestionMix.quotePlus("$|89--81|=$ {x}^[y] & 100% : ! () ~") == "%24%7C89--81%7C%3D%24+%7Bx%7D%5E%5By%5D+%26+100%25+%3A+%21+%28%29+~")
    }

    @Test func everyTableRowScoresOneThroughTheWholePath() {
        for (problem, reference) in Self.table {
            let query = QuestionMix.einsteinQuery(problem)
            for message in [QuestionMix.asked(query, reference: 0).message, QuestionMix.asked(problem, reference: 0).message, query] {
                #expect(score(message: message, reference: reference) == 1, "\(message)")
            }
        }
        #expect(score(message: Self.cdotMessage, reference: "4") == 1)
        #expect(score(message: Self.divMessage, reference: "2") == 1)
    }

    /// What the simulator asks, in every style, scores 1 against the dataset's reference and the simulator's, decimals included.
    @Test(arguments: QuestionStyle.allCases)
    func everyQuestionOfTheMixScoresOne(style: QuestionStyle) throws {
        for index in 0..<200 {
            let item = QuestionMix.arithmetic(style).question(index)
            let reference = try #require(item.reference)
            let completion = MockBackend.answer(to: Question(message: item.message))
            let text = style == .plain ? String(Int(reference)) : BasicMath.problem(index).reference
            #expect(MathScore.score(reference: text, completion: completion) == 1, "\(item.text): \(completion)")
            #expect(MathScore.score(reference: MathScore.referenceText(reference), completion: completion) == 1, "\(item.text): \(completion)")
        }
    }

    @Test func decimalsScoreAtLeast099EvenAgainstUnroundedReferences() {
        // The mock writes 2 decimals; math_score divides the error by max(|reference|, 1).
        #expect(score(message: "$67\\div94=$", reference: "0.71") == 1)
        #expect(score(message: "$16\\div3=$", reference: "5.333333333333333") >= 0.99)
        #expect(score(message: "$1\\div300=$", reference: "0.0033333333333333335") >= 0.99)
    }
}

@Suite struct PythonRandomTests {
    /// `random.seed(n); random.getrandbits(32)`, from CPython 3.11.
    @Test func drawsAsCPython() {
        var random = PythonRandom(seed: 35)
        #expect([random.next(), random.next(), random.next()] == [2_356_625_382, 1_440_402_319, 3_223_548_843])
        random = PythonRandom(seed: 0)
        #expect([random.next(), random.next()] == [3_626_764_237, 1_654_615_998])
        random = PythonRandom(seed: (1 << 40) + 7)
        #expect([random.next(), random.next()] == [2_635_837_658, 3_209_733_218])
    }

    /// `randint(0, 0)` still draws (getrandbits(1) until 0), which later draws depend on.
    @Test func rejectedDrawsAreConsumed() {
        var random = PythonRandom(seed: 3_500_105)
        #expect([random.randint(0, 0), random.randint(0, 0), random.randint(0, 0)] == [0, 0, 0])
        #expect(random.next() == 260_360_716)
    }

    @Test func roundsAsPythonsRound() {
        #expect(BasicMath.pythonRounded(0.125) == "0.12" && BasicMath.pythonRounded(0.375) == "0.38")
        #expect(BasicMath.pythonRounded(1.0 / 40) == "0.03" && BasicMath.pythonRounded(2) == "2.0")
        #expect(BasicMath.pythonRounded(80.0 / 6) == "13.33" && BasicMath.pythonRounded(0.5) == "0.5")
    }
}

/// VALIDATOR-QUESTIONS.md §3's table, measured with the real `math_score`.
@Suite struct MathScoreTests {
    @Test(arguments: [
        ("52", "So the final answer is: 52", 1.0), ("52", "the final answer is 52.", 1),
        ("52", "THE FINAL ANSWER IS: 52", 1), ("52", "The final answer is:\n52", 1), ("52", "The final answer is: $52$", 1),
        ("52", "…is: 52.0", 1), ("52", "Final answer: 52", 1), ("52", "45 + 7 = 52", 0.1346),
        ("52", "The final answer is: 52. Check: 45+7=52", 0.1346), ("4", "So the final answer is: 4\nBecause 2*2 = 4", 1),
        ("18", "the final answer is: 18 and then 306/17 = 18", 0.9444), ("52", "the final answer is: 51", 0.9808),
        ("52", "the final answer is: 26", 0.5), ("52", "the final answer is: 104", 0), ("52", "the final answer is: 1,052", 0.0192),
        ("52", "the final answer is: fifty-two", 0), ("52", "", 0), ("0", "the final answer is: 0", 1),
        ("0", "the final answer is: 1", 0), ("0", "the final answer is: 0.5", 0.5), ("-499", "the final answer is: -499", 1),
        ("-499", "the final answer is: 499", 1), ("-0.3999999999999986", "the final answer is: -0.4", 0.99999),
        ("-0.3999999999999986", "the final answer is: 0.4", 0.2), ("5.333333333333333", "the final answer is: 5.33", 0.99938),
        ("5.333333333333333", "the final answer is: 16/3", 0.5625), ("6.25e-06", "the final answer is: 6.25e-06", 1),
        ("6.25e-06", "the final answer is: 0.00000625", 0.000001), ("144.0", "the final answer is: 144", 1),
    ] as [(String, String, Double)])
    func scoresAsTheValidator(reference: String, completion: String, expected: Double) {
        let completion = completion.replacingOccurrences(of: "…is:", with: "the final answer is:")
        #expect(abs(MathScore.score(reference: reference, completion: completion) - expected) < 0.0001, "\(completion)")
    }

    @Test func theFirstMarkerThatMatchesWins() {
        // `\s*` crosses the newline; a marker with nothing at all after it does not match.
        #expect(MathScore.score(reference: "7", completion: "the final answer is\nthe final answer is: 7") == 1)
        // Only the smallest number of the line meets a one-number reference.
        #expect(abs(MathScore.score(reference: "7", completion: "the final answer is: 7, and 1 more") - (1 - 6.0 / 7)) < 1e-12)
        #expect(MathScore.score(reference: "7", completion: "The answer is 4. So the final answer is: 7\nthe final answer is: 4") == 1)
        #expect(MathScore.score(reference: "7", completion: "the final answer is") == 0)
    }
}
