import Backends
import Foundation
import Keys
import TestSupport
import Testing
import Wire
@testable import Simulator

@Suite struct SimulatorRewardTests {
    func reward(_ completion: String, reference: Double) -> Double? {
        ValidatorResult(
            validator: "v", uuid: "u", nonce: 1, timeout: 1, sentAt: 0, status: 200, statusMessage: nil,
            chunks: [.init(offset: 0.2, bytes: completion.utf8.count)], completion: completion, total: 1, oversizeChunks: 0,
            reference: reference
        ).reward
    }

    /// The simulator's reward is the einstein validator's `math_score`, with the reference
    /// written as the dataset writes it.
    @Test func theRewardIsTheValidatorsMathScore() {
        #expect(reward("The answer is 4. So the final answer is: 4", reference: 4) == 1)
        // Only the line after the first marker counts: an earlier right number does not rescue a wrong final one.
        #expect(abs(reward("It is 4. So the final answer is: 5", reference: 4)! - 0.75) < 1e-9)
        // math_score reads "1,000" as 1 and 0: a separator costs the whole reward.
        #expect(reward("the final answer is: 1,000.", reference: 1000) == 0)
        #expect(reward("So the final answer is: 0.71", reference: 0.71) == 1)
        #expect(reward("So the final answer is: -499", reference: -499) == 1)
        // Without a marker, the smallest number of the whole answer is paired.
        #expect(abs(reward("45 + 7 = 52", reference: 52)! - 0.1346) < 1e-4)
        #expect(reward("The answer is ", reference: 4) == 0)
        #expect(MathScore.referenceText(52) == "52" && MathScore.referenceText(0.71) == "0.71" && MathScore.referenceText(6.25e-06) == "6.25e-06")
    }

    @Test func aResultScoresOnlyWhatAValidatorScores() {
        var result = ValidatorResult(
            validator: "v", uuid: "u", nonce: 1, timeout: 1, sentAt: 0, status: 408, statusMessage: nil,
            chunks: [.init(offset: 0.2, bytes: 18)], completion: "The answer is 88. ", total: 1, oversizeChunks: 0, reference: 88
        )
        #expect(result.reward == 1 && result.kind == .partial)
        result.status = 401
        #expect(result.reward == 0)
        result.reference = nil
        #expect(result.reward == nil)
    }
}

@Suite struct DendriteRequestTests {
    let miner = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"

    func request(_ messages: [String]) -> DendriteRequest {
        DendriteRequest(messages: messages, timeout: 3, axonHost: "127.0.0.1", axonPort: 18101, axonHotkey: miner, uuid: "u-1", nonce: 1_795_552_238_487_687_740)
    }

    @Test func theBodyHasTheDendritesShapeAndTheWorkerAcceptsIt() throws {
        let validator = SimulatedValidator(name: "validator-1")
        let (headers, body) = request(["question_text=What+is+2%2B2%3F&question_type=arithmetic"]).signed(by: validator)
        // Byte for byte the layout of the captured bittensor 10.5.0 body, but for sizes and keys.
        let captured = try String(contentsOf: Fixtures.repository.appendingPathComponent("Tests/Fixtures/dendrite-request-bittensor-10.5.0.http"), encoding: .utf8)
        let capturedBody = String(captured[captured.range(of: "\r\n\r\n")!.upperBound...])
        func shape(_ text: String) -> String {
            text.replacingOccurrences(of: #""(total_size|nonce|port|version)": \d+"#, with: "\"$1\": N", options: .regularExpression)
                .replacingOccurrences(of: #""(uuid|hotkey|signature)": "[^"]*""#, with: "\"$1\": S", options: .regularExpression)
        }
        #expect(shape(body) == shape(capturedBody.trimmingCharacters(in: .whitespacesAndNewlines)))

        let decoded = try SynapseRequest.decode(Array(body.utf8))
        let value = { (name: String) in headers.first { $0.0 == name }?.1 }
        #expect(decoded.bodyHash == value("computed_body_hash"))
        #expect(decoded.dendrite.hotkey == validator.hotkey)
        let parsed = try SynapseHeaders.parse(value)
        let message = "\(parsed.dendriteNonce!).\(validator.hotkey).\(miner).u-1.\(decoded.bodyHash)"
        let signature = try #require(Hex.decode(String(value("bt_header_dendrite_signature")!.dropFirst(2))))
        #expect(Sr25519.verify(signature: signature, message: Array(message.utf8), publicKey: try SS58.decode(validator.hotkey)))
    }

    @Test func messagesAreEscapedAsPythonsJSONDumps() {
        #expect(DendriteRequest.json("a\"b\\c\nd\u{1}é😀") == #""a\"b\\c\nd\u0001\u00e9\ud83d\ude00""#)
        #expect(DendriteRequest.pythonFloat(17) == "17.0" && DendriteRequest.pythonFloat(1.5) == "1.5")
    }

    @Test func validatorsAreStableAndDistinct() {
        let validators = SimulatedValidator.numbered(3)
        #expect(Set(validators.map(\.hotkey)).count == 3)
        #expect(validators[0].hotkey == SimulatedValidator(name: "validator-1").hotkey)
    }
}

@Suite struct QuestionMixTests {
    @Test func plainQuestionsCarryTheirAnswer() {
        for index in 0..<50 {
            let item = QuestionMix.arithmetic(.plain).question(index)
            #expect(item.reference != nil)
            #expect(ArithmeticCheck.evaluate(item.text) == item.reference, "\(item.text)")
            #expect(Question(message: item.message).text == item.text)
        }
        #expect(QuestionMix.arithmetic(.plain).question(7) == QuestionMix.arithmetic(.plain).question(7))
        #expect(QuestionMix.arithmetic(.plain).question(0).message == "question_text=What+is+19+-+81%3F&question_type=arithmetic")
    }

    @Test func formEncodingIsPythonsURLEncode() {
        // urllib.parse.urlencode({"question_text": "What is 2+2? (a/b) & ü"})
        #expect(QuestionMix.formEncoded("What is 2+2? (a/b) & ü", type: nil) == "question_text=What+is+2%2B2%3F+%28a%2Fb%29+%26+%C3%BC")
    }
}

/// The simulator's references checked independently of its own arithmetic.
enum ArithmeticCheck {
    static func evaluate(_ text: String) -> Double? {
        let parts = text.dropFirst("What is ".count).dropLast().split(separator: " ")
        guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[2]) else { return nil }
        switch parts[1] {
        case "+": return a + b
        case "-": return a - b
        case "*": return a * b
        default: return nil
        }
    }
}
