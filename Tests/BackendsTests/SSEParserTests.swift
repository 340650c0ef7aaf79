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

    /// The parser as it was before it scanned reads in place (byte by byte, each line decoded
    /// whole): the reference the rewrite must match.
    struct ReferenceParser {
        var line: [UInt8] = []
        var data: [String] = []
        var sawCarriageReturn = false

        mutating func feed(_ bytes: [UInt8]) -> [String] {
            var events: [String] = []
            for byte in bytes {
                if sawCarriageReturn {
                    sawCarriageReturn = false
                    if byte == 0x0A { continue }
                }
                switch byte {
                case 0x0A: endLine(into: &events)
                case 0x0D:
                    sawCarriageReturn = true
                    endLine(into: &events)
                default: line.append(byte)
                }
            }
            return events
        }

        mutating func finish() -> [String] {
            var events: [String] = []
            if !line.isEmpty { endLine(into: &events) }
            if !data.isEmpty { events.append(data.joined(separator: "\n")) }
            data.removeAll()
            return events
        }

        mutating func endLine(into events: inout [String]) {
            defer { line.removeAll(keepingCapacity: true) }
            if line.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                data.removeAll()
                return
            }
            if line.first == UInt8(ascii: ":") { return }
            let text = String(decoding: line, as: UTF8.self)
            let (field, value): (Substring, Substring)
            if let colon = text.firstIndex(of: ":") {
                field = text[..<colon]
                var rest = text[text.index(after: colon)...]
                if rest.first == " " { rest = rest.dropFirst() }
                value = rest
            } else {
                (field, value) = (Substring(text), "")
            }
            if field == "data" { data.append(String(value)) }
        }
    }

    /// Edge cases, each fed whole and split at every byte, against the reference parser.
    @Test func matchesTheByteByByteParser() {
        let streams = [
            "data: {\"choices\":[{\"delta\":{\"content\":\" é\"}}]}\n\ndata: [DONE]\n\n",
            "data\n\ndata:\n\ndata: \n\ndata:  two spaces\n\n",
            "data: \u{301}accent after the space\n\ndata:\u{301}no space\n\n",  // a space that is not a character of its own
            "data: a\r\ndata: b\rdata: c\n\r\n: comment\r\revent: e\nid: 1\ndata: d\n\n",
            "dat: x\ndata2: y\nDATA: z\ndata: kept\n\n",
            "data: \u{FF}\u{100}\u{10FFFF} wide\n\ndata: tail without a blank line",
            "\r\n\r\n\n: only comments\n\n",
        ]
        var broken = Array("data: bad \u{E9}x\n\n".utf8)
        broken[10] = 0xC3  // an invalid sequence: lead byte followed by ASCII
        var inputs = streams.map { Array($0.utf8) }
        inputs.append(broken)
        for bytes in inputs {
            var reference = ReferenceParser()
            let expected = reference.feed(bytes) + reference.finish()
            #expect(parse([bytes]) == expected, "\(String(decoding: bytes, as: UTF8.self))")
            for cut in 1..<bytes.count {
                #expect(parse([Array(bytes[..<cut]), Array(bytes[cut...])]) == expected, "cut at \(cut)")
            }
            #expect(parse(bytes.map { [$0] }) == expected, "byte by byte")
        }
    }

    /// Random streams over an alphabet of the bytes that matter (field letters, colons, spaces,
    /// line ends, combining marks, broken UTF-8), split at random: same events as the reference.
    @Test func randomStreamsMatchTheByteByByteParser() {
        let pieces: [[UInt8]] = ["data", "d", "a", ":", " ", "\n", "\r", "\r\n", "x", "\u{301}", "é", "{\"a\":1}"]
            .map { Array($0.utf8) } + [[0xC3], [0x80], [0xE2, 0x82]]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<random(30) { bytes += pieces[random(pieces.count)] }
            var reference = ReferenceParser()
            let expected = reference.feed(bytes) + reference.finish()
            let cut = bytes.isEmpty ? 0 : random(bytes.count)
            #expect(parse([Array(bytes[..<cut]), Array(bytes[cut...])]) == expected, "\(bytes)")
        }
    }
}
