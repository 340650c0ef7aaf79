import Testing
@testable import Backends

@Suite struct MockBackendTests {
    func collect(_ stream: BackendItems) async throws -> [String] {
        var items: [String] = []
        for try await item in stream { items.append(item) }
        return items
    }

    let request = GenerationRequest(roles: ["user"], messages: ["question_text=What+is+2%2B2%3F&question_type=arithmetic"])

    @Test func wordsKeepTheirTrailingWhitespace() {
        #expect(MockBackend.words("The answer  is\n4.") == ["The ", "answer  ", "is\n", "4."])
        #expect(MockBackend.words("  lead trail ") == ["  lead ", "trail "])
        #expect(MockBackend.words("") == [])
        let text = " ü 日本語\t😀 x  "
        #expect(MockBackend.words(text).joined() == text)
    }

    @Test func answersArithmeticAsTheReferenceMinerDid() async throws {
        let items = try await collect(MockBackend().generate(request))
        #expect(items.joined() == "The answer is 4. So the final answer is: 4")
        #expect(items.count == 10)
    }

    @Test(arguments: [
        ("What is 12 * 3?", "36"),
        ("Compute 7 - 10", "-3"),
        ("What is 1/4?", "0.25"),
        ("2 ÷ 0 is undefined, what is 6x7", "42"),
        ("What is -7 × 3?", "-21"),
        ("What is 7 / 2?", "3.5"),
    ])
    func computesTheFirstOperation(question: String, answer: String) {
        #expect(MockBackend.answer(to: Question(text: question)) == "The answer is \(answer). So the final answer is: \(answer)")
    }

    @Test func otherQuestionsGetAStableNumber() {
        let first = MockBackend.answer(to: Question(text: "Name a prime"))
        #expect(first == MockBackend.answer(to: Question(text: "Name a prime")))
        #expect(first.hasPrefix("The answer is "))
        #expect(first != MockBackend.answer(to: Question(text: "Name a square")))
    }

    @Test func fixedTextIsEmittedAsIs() async throws {
        let items = try await collect(MockBackend(text: "a b c").generate(request))
        #expect(items == ["a ", "b ", "c"])
    }

    @Test func failAfterThrowsAfterThatManyItems() async throws {
        var items: [String] = []
        await #expect(throws: MockBackend.Failure.self) {
            for try await item in MockBackend(text: "a b c d", failAfter: 2).generate(request) { items.append(item) }
        }
        #expect(items == ["a ", "b "])
        await #expect(throws: MockBackend.Failure.self) {
            _ = try await collect(MockBackend(text: "a b", failAfter: 5).generate(request))
        }
    }

    @Test func delayPacesTheItems() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        _ = try await collect(MockBackend(text: "a b c d", delay: .milliseconds(30)).generate(request))
        #expect(clock.now - started >= .milliseconds(120))
    }

    /// Abandoning the stream cancels the producer: no generation continues for nobody.
    @Test func droppingTheStreamStopsTheProducer() async throws {
        let clock = ContinuousClock()
        let stream = MockBackend(text: String(repeating: "w ", count: 1000), delay: .milliseconds(5)).generate(request)
        let consumer = Task {
            var count = 0
            for try await _ in stream { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(30))
        let cancelledAt = clock.now
        consumer.cancel()
        let count = try await consumer.value
        #expect(count < 100)
        #expect(clock.now - cancelledAt < .seconds(1))
    }
}

@Suite struct QuestionTests {
    @Test func decodesTheValidatorsFormEncoding() {
        let question = Question(message: "question_text=What+is+2%2B2%3F&question_type=arithmetic")
        #expect(question == Question(text: "What is 2+2?", type: "arithmetic"))
    }

    @Test func decodesUTF8PercentEscapes() {
        #expect(Question(message: "question_text=%E2%88%AB+x%C2%B2").text == "∫ x²")
    }

    @Test func passesOtherTextThrough() {
        #expect(Question(message: "What is 2+2?") == Question(text: "What is 2+2?"))
        #expect(Question(message: "a=b&c=d").text == "a=b&c=d")
    }

    @Test func theFirstValueOfARepeatedKeyWins() {
        #expect(Question(message: "question_text=one&question_text=two").text == "one")
    }

    @Test func theQuestionIsTheLastMessage() {
        let request = GenerationRequest(roles: ["user", "assistant", "user"], messages: ["earlier", "reply", "question_text=now"])
        #expect(request.question.text == "now")
    }
}
