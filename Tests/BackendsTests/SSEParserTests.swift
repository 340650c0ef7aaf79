import EventStream
import Testing
@testable import Backends

@Suite struct SSEParserTests {
    func parse(_ pieces: [[UInt8]]) -> [String] {
        var parser = SSEParser()
        var events: [String] = []
        for piece in pieces { events += parser.feed(piece) }
        return events + parser.finish()
    }

    @Test func eventsSplitAnywhereComeOutWhole() {
        let text = Array("data: {\"a\": \"é\"}\n\ndata: [DONE]\n\n".utf8)
        let whole = parse([text])
        #expect(whole == ["{\"a\": \"é\"}", "[DONE]"])
        for cut in 1..<text.count {  // every split, including inside the two bytes of é
            #expect(parse([Array(text[..<cut]), Array(text[cut...])]) == whole, "cut at \(cut)")
        }
    }

    @Test func commentsAndOtherFieldsAreSkippedAndLineEndingsVary() {
        let events = parse([Array(": ping\r\nevent: message\r\nid: 7\r\ndata: one\r\ndata: two\r\n\r\n: ping\rdata:three\r\r".utf8)])
        #expect(events == ["one\ntwo", "three"])
    }

    @Test func aLastEventWithoutItsBlankLineIsKept() {
        #expect(parse([Array("data: tail".utf8)]) == ["tail"])
        #expect(parse([Array("\n\n: only a comment\n\n".utf8)]) == [])
    }
}
