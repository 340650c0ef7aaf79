import TestSupport
import Testing
@testable import Wire

@Suite struct BodyHashTests {
    struct Vector {
        var messages: [PythonString]
        var pythonStr: String
        var bodyHash: String
    }

    /// Read with our own parser: the file holds a lone surrogate that Foundation cannot decode.
    static func vectors() throws -> [Vector] {
        guard case .object(let root) = try JSONParser.parse(try Fixtures.bytes("body-hash-vectors.json")),
              case .array(let cases)? = root["cases"] else { throw FixtureError() }
        return try cases.map { item in
            guard case .object(let fields) = item,
                  case .array(let messages)? = fields["messages"],
                  case .string(let pythonStr)? = fields["python_str"],
                  case .string(let hash)? = fields["body_hash"] else { throw FixtureError() }
            return Vector(
                messages: try messages.map { message in
                    guard case .string(let text) = message else { throw FixtureError() }
                    return text
                },
                pythonStr: pythonStr.string,
                bodyHash: hash.string
            )
        }
    }

    struct FixtureError: Error {}

    @Test func everyVectorHasItsPythonReprAndHash() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 17)
        for vector in vectors {
            #expect(PythonRepr.list(vector.messages) == vector.pythonStr)
            #expect(BodyHash.of(messages: vector.messages) == vector.bodyHash, "\(vector.pythonStr.prefix(80))")
        }
    }

    @Test func theCapturedRequestHashesToItsHeader() throws {
        let (lines, body) = try Fixtures.http("dendrite-request-bittensor-10.5.0.http")
        let header = lines.first { $0.hasPrefix("computed_body_hash: ") }!.dropFirst("computed_body_hash: ".count)
        let request = try SynapseRequest.decode(body)
        #expect(request.bodyHash == String(header))
    }

    @Test(arguments: [
        ("it's", #""it's""#),
        (#"say "hi""#, #"'say "hi"'"#),
        (#"both ' and ""#, #"'both \' and "'"#),
        ("tab\tnl\ncr\r", #"'tab\tnl\ncr\r'"#),
        ("\u{7F}\u{85}\u{A0}\u{AD}", #"'\x7f\x85\xa0\xad'"#),
        ("\u{2028}\u{E0001}", #"'\u2028\U000e0001'"#),
        ("ü日本😀", "'ü日本😀'"),
    ])
    func reprOfOneString(text: String, expected: String) {
        #expect(PythonRepr.string(PythonString(text)) == expected)
    }

    @Test func aLoneSurrogateIsEscapedAsPythonDoes() {
        #expect(PythonRepr.string(PythonString(codePoints: [0x61, 0xD800])) == #"'a\ud800'"#)
        #expect(PythonString(codePoints: [0x61, 0xD800]).string == "a\u{FFFD}")
    }
}
