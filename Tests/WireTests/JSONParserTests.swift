import Testing
@testable import Wire

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}, "n": 1795552238487687740} "#)
        #expect(value == .object([
            "a": .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null, .string("x")]),
            "b": .object([:]),
            "n": .number("1795552238487687740"),
        ]))
    }

    @Test func joinsSurrogatePairsAndKeepsLoneSurrogates() throws {
        #expect(try parse(#""\ud83d\ude00""#) == .string(PythonString(codePoints: [0x1F600])))
        #expect(try parse(#""\ud800x""#) == .string(PythonString(codePoints: [0xD800, 0x78])))
        #expect(try parse(#""\ud800\u0041""#) == .string(PythonString(codePoints: [0xD800, 0x41])))
        #expect(try parse(#""\udc00""#) == .string(PythonString(codePoints: [0xDC00])))
    }

    @Test func decodesEscapesAndUTF8() throws {
        #expect(try parse(#""a\"\\\/\b\f\n\r\t\u00e9""#) == .string("a\"\\/\u{8}\u{C}\n\r\té"))
        #expect(try parse("\"日本😀\"") == .string("日本😀"))
    }

    @Test(arguments: [
        ("", 0, "unexpected end of data"),
        ("{not json", 1, "expected a string key"),
        (#"{"a" 1}"#, 5, "expected ':' after an object key"),
        ("[1, 2", 5, "expected ',' or ']' in a list"),
        ("[1] x", 4, "unexpected data after the JSON value"),
        (#""abc"#, 4, "unterminated string"),
        ("\"a\u{1}\"", 2, "control character in a string"),
        (#""\q""#, 1, "invalid escape '\\q'"),
        ("01", 1, "unexpected data after the JSON value"),
        ("-", 1, "expected a digit"),
        ("1.", 2, "expected a digit after '.'"),
        ("tru", 0, "expected 'true'"),
    ])
    func reportsWhereAndWhy(text: String, offset: Int, reason: String) {
        #expect(throws: JSONSyntaxError(offset: offset, reason: reason)) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
        }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError(offset: 64, reason: "nesting deeper than 64 levels")) { try parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(fine) }
    }
}
