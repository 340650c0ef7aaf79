import TestSupport
import Testing
@testable import Wire

@Suite struct SynapseRequestTests {
    @Test func decodesTheCapturedRequest() throws {
        let request = try SynapseRequest.decode(try Fixtures.http("dendrite-request-bittensor-10.5.0.http").body)
        #expect(request.name == "StreameinsteinSynapse")
        #expect(request.timeout == 3.0)
        #expect(request.roles == ["user"])
        #expect(request.messages == ["question_text=What+is+2%2B2%3F&question_type=arithmetic"])
        #expect(request.dendrite.nonce == 1_795_552_238_487_687_740)
        #expect(request.dendrite.hotkey == "5Hh2vxRfjJpxmPdrVfCAFhPRAJE2Kbr8eQMt1QBDWkEML2jR")
        #expect(request.dendrite.version == 10_005_000)
        #expect(request.dendrite.port == nil)
        #expect(request.axon.port == 18101)
        #expect(request.totalSize == 3652)
        #expect(request.requiredHashFields == ["messages"])
    }

    @Test(arguments: [
        (#"{"messages": []}"#, "Body field 'roles' is required"),
        (#"{"roles": [], "messages": "hi"}"#, "Body field 'messages' must be a list of strings, got a string"),
        (#"{"roles": [], "messages": ["a", 3]}"#, "Body field 'messages[1]' must be a string, got a number"),
        (#"{"roles": [], "messages": [], "timeout": "3"}"#, "Body field 'timeout' must be a number, got a string"),
        (#"{"roles": [], "messages": [], "timeout": -1}"#, "Body field 'timeout' must be a non-negative number of seconds"),
        (#"{"roles": [], "messages": [], "dendrite": {"nonce": "x"}}"#, "Body field 'dendrite.nonce' must be an integer, got a string"),
        ("[1]", "Request body must be a JSON object, got a list"),
    ])
    func namesTheBadField(body: String, message: String) {
        #expect(throws: Rejection.self) { try SynapseRequest.decode(Array(body.utf8)) }
        do {
            _ = try SynapseRequest.decode(Array(body.utf8))
        } catch {
            #expect(error.status == 422)
            #expect(error.message == message)
        }
    }

    @Test func nullMeansUnsetAndDefaultsApply() throws {
        let request = try SynapseRequest.decode(Array(#"{"roles": [], "messages": [], "timeout": null, "axon": null}"#.utf8))
        #expect(request.timeout == 12)
        #expect(request.axon == TerminalInfo())
    }

    @Test func invalidJSONIs422WithTheOffset() {
        do {
            _ = try SynapseRequest.decode(Array("{\"roles\": [}".utf8))
            Issue.record("expected a rejection")
        } catch {
            #expect(error.status == 422)
            #expect(error.reason == "invalid_json")
            #expect(error.message == "Request body is not valid JSON: invalid JSON at byte 11: unexpected character '}'")
        }
    }
}
