import Testing
@testable import Backends

/// The scanner that reads a `chat.completion.chunk` without Foundation: wherever it answers,
/// its chunk is the one `JSONSerialization` gives (`decodeWithFoundation`); it answers for the
/// events model servers send (MODEL-SERVERS.md §3–§4) and leaves the rest to Foundation.
@Suite struct ChatChunkScannerTests {
    typealias Chunk = ChatCompletionStream.Chunk

    /// Expects the scanner to answer nil or what Foundation answers (a Foundation failure: nil).
    func expectAgreement(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let scanned = ChatChunkScanner.scan(text) else { return }
        let reference = try? ChatCompletionStream.decodeWithFoundation(text)
        #expect(reference.map(scanned.isIdentical) == true, "\(text.debugDescription): \(scanned) vs \(String(describing: reference))",
                sourceLocation: sourceLocation)
    }

    /// The same for raw bytes, which the scanner reads only when they are UTF-8, as their text.
    func expectAgreement(bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let scanned = bytes.withUnsafeBufferPointer { ChatChunkScanner.scan(utf8: $0) }
        if let text = String(validating: bytes, as: UTF8.self) {
            #expect(scanned == ChatChunkScanner.scan(text), "\(bytes)", sourceLocation: sourceLocation)
            expectAgreement(text, sourceLocation: sourceLocation)
        } else {
            #expect(scanned == nil, "invalid UTF-8 read: \(bytes)", sourceLocation: sourceLocation)
            expectAgreement(String(decoding: bytes, as: UTF8.self), sourceLocation: sourceLocation)
        }
    }

    /// Real events as the servers send them, and what they say.
    static let serverEvents: [(String, Chunk)] = [
        // vLLM: the role chunk, `reasoning` (≥ 0.11.1), logprobs, the finish chunk, the usage chunk.
        (#"{"id":"chatcmpl-b1a9","object":"chat.completion.chunk","created":1750000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
         Chunk()),
        (#"{"id":"chatcmpl-b1a9","object":"chat.completion.chunk","created":1750000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning":"Let me add"},"logprobs":null,"finish_reason":null}]}"#,
         Chunk(pieces: [.thinking("Let me add")])),
        (#"{"id":"chatcmpl-b1a9","object":"chat.completion.chunk","created":1750000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":" 52"},"logprobs":{"content":[{"token":" 52","logprob":-1.1920928955078125e-07,"bytes":[32,53,50],"top_logprobs":[{"token":" 52","logprob":-0.00012339458,"bytes":[32,53,50]},{"token":" fifty","logprob":-9.5,"bytes":null}]}]},"finish_reason":null}],"usage":{"prompt_tokens":31,"total_tokens":32,"completion_tokens":1}}"#,
         Chunk(pieces: [.answer(" 52")], promptTokens: 31, completionTokens: 1)),
        (#"{"id":"chatcmpl-b1a9","object":"chat.completion.chunk","created":1750000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":151645}]}"#,
         Chunk()),
        (#"{"id":"chatcmpl-b1a9","object":"chat.completion.chunk","created":1750000000,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":31,"completion_tokens":12,"total_tokens":43,"completion_tokens_details":{"reasoning_tokens":8}}}"#,
         Chunk(promptTokens: 31, completionTokens: 12)),
        // SGLang: `reasoning_content`, nulls beside it, `matched_stop`, `"usage": null`.
        (#"{"id":"7c3e5f","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":"Okay, 45","tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}"#,
         Chunk(pieces: [.thinking("Okay, 45")])),
        (#"{"id":"7c3e5f","object":"chat.completion.chunk","created":1750000000,"model":"qwen3","choices":[{"index":0,"delta":{"role":null,"content":"So the final answer is: 52","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":"stop","matched_stop":151645}],"usage":null}"#,
         Chunk(pieces: [.answer("So the final answer is: 52")])),
        (#"{"choices":[{"index":0,"delta":{"reasoning_content":"hm","content":" 52"}}],"usage":{"prompt_tokens":31,"completion_tokens":12}}"#,
         Chunk(pieces: [.thinking("hm"), .answer(" 52")], promptTokens: 31, completionTokens: 12)),
        // llama.cpp: content null on the role chunk, keys in its order, the usage chunk with timings.
        (#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1750000000,"id":"chatcmpl-Xy","model":"qwen3","system_fingerprint":"b6000-abcdef12","object":"chat.completion.chunk"}"#,
         Chunk()),
        (#"{"choices":[{"finish_reason":null,"index":0,"delta":{"reasoning_content":"The user asks"}}],"created":1750000000,"id":"chatcmpl-Xy","model":"qwen3","system_fingerprint":"b6000-abcdef12","object":"chat.completion.chunk"}"#,
         Chunk(pieces: [.thinking("The user asks")])),
        (#"{"choices":[],"created":1750000000,"id":"chatcmpl-Xy","model":"qwen3","system_fingerprint":"b6000-abcdef12","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":31,"total_tokens":43},"timings":{"prompt_n":31,"prompt_ms":12.345,"prompt_per_token_ms":0.398225806451613,"prompt_per_second":2511.138112596193,"predicted_n":12,"predicted_ms":240.1,"predicted_per_token_ms":20.008333333333333,"predicted_per_second":49.97917534360683}}"#,
         Chunk(promptTokens: 31, completionTokens: 12)),
        // llama-cpp-python: a role-only delta, an empty final delta.
        (#"{"id":"chatcmpl-1f0e","model":"smollm2.gguf","created":1750000000,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}"#,
         Chunk()),
        (#"{"id":"chatcmpl-1f0e","model":"smollm2.gguf","created":1750000000,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
         Chunk()),
        // Ollama: `reasoning` beside an empty content, `fp_ollama`.
        (#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1750000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Okay"},"finish_reason":null}]}"#,
         Chunk(pieces: [.thinking("Okay")])),
        (#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1750000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":31,"completion_tokens":12,"total_tokens":43}}"#,
         Chunk(promptTokens: 31, completionTokens: 12)),
        // TGI's Messages API: an empty id, the role on every delta, `stop_sequence`.
        (#"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[{"index":0,"delta":{"role":"assistant","content":"45"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
         Chunk(pieces: [.answer("45")])),
        (#"{"object":"chat.completion.chunk","id":"","created":1750000000,"model":"Qwen/Qwen2.5-1.5B-Instruct","system_fingerprint":"3.3.7-native","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"stop_sequence"}],"usage":null}"#,
         Chunk()),
        // Text: raw UTF-8 (two-, three- and four-byte), the same as escapes and surrogate pairs,
        // every single-character escape, `\u0000`, a BOM written as an escape.
        (#"{"choices":[{"index":0,"delta":{"content":"é 日本 😀 ∑x"}}]}"#, Chunk(pieces: [.answer("é 日本 😀 ∑x")])),
        (#"{"choices":[{"index":0,"delta":{"content":"\u00e9 \u65E5\u672c \ud83d\ude00 \u2211x"}}]}"#, Chunk(pieces: [.answer("é 日本 😀 ∑x")])),
        (#"{"choices":[{"delta":{"content":"\n\nSo \"52\" \\ 1\/2\tb\bf\fr\r"}}]}"#, Chunk(pieces: [.answer("\n\nSo \"52\" \\ 1/2\tb\u{8}f\u{C}r\r")])),
        (#"{"choices":[{"delta":{"content":"a\u0000b\uFFFF\uDBFF\uDFFF\ufeffc"}}]}"#, Chunk(pieces: [.answer("a\u{0}b\u{FFFF}\u{10FFFF}\u{FEFF}c")])),
        ("{\"choices\":[{\"delta\":{\"content\":\"e\\u0301 \u{7F}\"}}]}", Chunk(pieces: [.answer("e\u{301} \u{7F}")])),
        // Two choices (n = 2), each thinking then answering; pretty-printed with every whitespace.
        ("{\r\n\t\"choices\" : [ {\"index\":0, \"delta\" : { \"content\" : \"a\" , \"reasoning_content\":\"t\" } } ,\n {\"index\":1,\"delta\":{\"reasoning\":\"u\"}} ] ,\"usage\": { \"prompt_tokens\" : 0 } }\n",
         Chunk(pieces: [.thinking("t"), .answer("a"), .thinking("u")], promptTokens: 0)),
        // An empty reasoning_content hides reasoning, as in Foundation's reading; a negative count is not believed.
        (#"{"choices":[{"delta":{"reasoning_content":"","reasoning":"hidden","content":"x"}}],"usage":{"prompt_tokens":-5,"completion_tokens":999999999999999999}}"#,
         Chunk(pieces: [.answer("x")], completionTokens: 999_999_999_999_999_999)),
        // null where an object or a list may be; an error that is null; numbers of every form elsewhere.
        (#"{"choices":[{"delta":null},{"delta":{"content":null}}],"usage":{"prompt_tokens":null},"error":null}"#, Chunk()),
        (#"{"choices":null,"usage":null,"n":[0,-0,-0.0,1E+2,1e-400,0.5e-3,123456789012345678901234567890,1e0099,true,false,null,{},[],""]}"#, Chunk()),
        ("{}", Chunk()),
    ]

    @Test func everyServersEventIsReadWithoutFoundation() throws {
        for (event, expected) in Self.serverEvents {
            #expect(ChatChunkScanner.scan(event) == expected, "\(event)")
            #expect(try ChatCompletionStream.decodeWithFoundation(event) == expected, "the expectation itself: \(event)")
            #expect(try ChatCompletionStream.decode(event) == expected, "\(event)")
        }
    }

    /// Events whose reading is Foundation's: failures, errors, and what the scanner could read
    /// otherwise than Foundation does. Each still decodes (or fails) as before.
    static let leftToFoundation: [String] = [
        // Not JSON, or not an object.
        "", " ", "[DONE]", "[]", "null", "\"x\"", "52", "{", "}", "{}x", "{}{}", "{} {", "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]",
        "{\"choices\":[{\"delta\":{\"content\":\"a}}]}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":1 \"b\":2}",
        // What Foundation allows beyond RFC 8259: trailing commas, a leading byte-order mark.
        "{\"choices\":[{\"delta\":{\"content\":\"a\"},}]}", "{\"choices\":[{\"delta\":{\"content\":\"a\"}},]}", "\u{FEFF}{\"choices\":[]}",
        // Whitespace RFC 8259 does not have.
        "{\u{0B}}", "{\u{0C}}", "{\u{A0}}", "\u{2028}{}", "{}\u{85}",
        // Literals and numbers that are not JSON's.
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":0x10}", "{\"a\":1_000}", "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":nulll}",
        // Numbers Foundation refuses (a Double cannot hold them), or may: left whole to it.
        "{\"a\":1e400}", "{\"a\":-1e400}", "{\"a\":1.8e308}", "{\"a\":1E400}", "{\"a\":\(String(repeating: "9", count: 309))}",
        "{\"a\":1e301}", "{\"a\":1e99999}", "{\"a\":0.5e00000001}",
        // Counts that are not plain integers, or too long to be sure of.
        "{\"usage\":{\"prompt_tokens\":12.0}}", "{\"usage\":{\"prompt_tokens\":1e2}}", "{\"usage\":{\"prompt_tokens\":-0}}",
        "{\"usage\":{\"prompt_tokens\":true}}", "{\"usage\":{\"prompt_tokens\":\"12\"}}", "{\"usage\":{\"completion_tokens\":9223372036854775807}}",
        "{\"usage\":{\"completion_tokens\":9223372036854775808}}", "{\"usage\":{\"completion_tokens\":[1]}}",
        // Types the chunk does not expect.
        "{\"choices\":{}}", "{\"choices\":\"a\"}", "{\"choices\":[1]}", "{\"choices\":[{\"delta\":{\"content\":\"a\"}},null]}",
        "{\"choices\":[{\"delta\":[]}]}", "{\"choices\":[{\"delta\":{\"content\":5}}]}", "{\"choices\":[{\"delta\":{\"reasoning\":[\"a\"]}}]}",
        "{\"usage\":[]}", "{\"usage\":5}",
        // An error, whatever its shape.
        "{\"error\":{\"message\":\"out of memory\",\"http_status_code\":422}}", "{\"error\":\"overloaded\",\"error_type\":\"overloaded\"}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"error\":false}",
        // A name read twice in one object (Foundation keeps the last).
        "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}", "{\"choices\":[],\"choices\":[{\"delta\":{\"content\":\"b\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"},\"delta\":{}}]}", "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2}}", "{\"error\":null,\"error\":1}",
        "{\"choices\":[{\"delta\":{\"reasoning\":\"a\",\"reasoning\":null}}]}",
        // A key written with escapes, or after a byte-order mark (which Foundation drops).
        "{\"choices\":[{\"delta\":{\"con\\u0074ent\":\"a\"}}]}", "{\"\\u0063hoices\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"choices\":[{\"d\\u0065lta\":{\"content\":\"a\"}}]}", "{\"usage\":{\"prompt\\u005ftokens\":3}}", "{\"err\\u006fr\":1}",
        "{\"choices\":[{\"delta\":{\"\u{FEFF}content\":\"a\"}}]}", "{\"choices\":[{\"delta\":{\"content\\/\":\"a\"}}]}",
        // Strings: a byte-order mark where Foundation drops it, lone or mismatched surrogates,
        // bad escapes, raw control characters.
        "{\"choices\":[{\"delta\":{\"content\":\"\u{FEFF}x\"}}]}", "{\"choices\":[{\"delta\":{\"content\":\"\\n\u{FEFF}x\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud800\"}}]}", "{\"choices\":[{\"delta\":{\"content\":\"\\udc00\\ud800\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud800\\u0041\"}}]}", "{\"choices\":[{\"delta\":{\"content\":\"\\ud800x\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud800\\ud800\\udc00\"}}]}", "{\"x\":\"\\udfff\"}", "{\"x\":\"\\ud83d\"}",
        "{\"x\":\"\\u12\"}", "{\"x\":\"\\u12G4\"}", "{\"x\":\"\\x41\"}", "{\"x\":\"\\'\"}", "{\"x\":\"\\U0041\"}", "{\"x\":\"\\\"}", "{\"x\":\"\\",
        "{\"x\":\"\u{0}\"}", "{\"x\":\"\u{1F}\"}", "{\"x\":\"a\nb\"}", "{\"x\":\"\t\"}", "{\u{0}}", "{}\u{0}",
    ]

    @Test func whatTheScannerLeavesIsLeftToFoundation() {
        for event in Self.leftToFoundation {
            #expect(ChatChunkScanner.scan(event) == nil, "\(event.debugDescription)")
        }
    }

    /// `decode` takes Foundation's path for them: the same chunk, or the same failure.
    @Test func decodeStillFailsAndReadsAsFoundationDoes() throws {
        #expect(throws: BackendError.self) { try ChatCompletionStream.decode("{\"a\":1e400}") }
        let error = #expect(throws: BackendError.self) { try ChatCompletionStream.decode(#"{"error":{"message":"out of memory"}}"#) }
        #expect(error?.kind == .http && error?.message.contains("out of memory") == true)
        let trailingComma = #"{"choices":[{"delta":{"content":"a"},}],}"#
        #expect(try ChatCompletionStream.decode(trailingComma) == Chunk(pieces: [.answer("a")]))
        #expect(try ChatCompletionStream.decode("{\"choices\":[{\"delta\":{\"content\":\"\\n\u{FEFF}x\"}}]}") == Chunk(pieces: [.answer("\nx")]))
        #expect(try ChatCompletionStream.decode("[DONE]") == nil)
    }

    /// Numbers in every position: the scanner's reading, when it gives one, is Foundation's.
    @Test func numbersAgreeWithFoundation() {
        let numbers = [
            "0", "-0", "1", "-1", "12.0", "1e2", "1E2", "1e+2", "1e-2", "0.5", "-0.0", "0e0", "1.5e-07", "123456789012345678",
            "1234567890123456789", "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775808",
            "1e300", "1e299", "9.99e299", "1e308", "1.7976931348623157e308", "1e-999", "5e-324", "2e-324",
            "0." + String(repeating: "0", count: 400) + "1", "1." + String(repeating: "1", count: 1000),
            String(repeating: "9", count: 300), String(repeating: "9", count: 301), String(repeating: "9", count: 309),
            "12345678901234567890e280", "1e0100", "1.8e308", "1e309", "-1e400",
        ]
        for number in numbers {
            expectAgreement("{\"n\":\(number),\"choices\":[{\"delta\":{\"content\":\"a\"}}]}")
            expectAgreement("{\"usage\":{\"prompt_tokens\":\(number),\"completion_tokens\":\(number)}}")
            expectAgreement("{\"n\":[\(number)]}")
        }
        #expect(ChatChunkScanner.scan("{\"n\":[1e299,-1.5E-7,0,\(String(repeating: "9", count: 300))]}") == Chunk())
        #expect(ChatChunkScanner.scan("{\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":123456789012345678}}") == Chunk(promptTokens: 0, completionTokens: 123_456_789_012_345_678))
    }

    /// 10,000 levels, closed or not, in every place: no recursion past the bound, no crash.
    @Test func deepNestingIsLeftToFoundation() {
        for depth in [63, 64, 65, 511, 512, 10_000] {
            let open = String(repeating: "[", count: depth), close = String(repeating: "]", count: depth)
            let objects = String(repeating: "{\"a\":", count: depth), closeObjects = String(repeating: "}", count: depth)
            for event in [
                "{\"x\":\(open)\(close)}", "{\"x\":\(open)", "\(objects)1\(closeObjects)", "\(objects)",
                "{\"choices\":[{\"delta\":{\"content\":\"a\",\"x\":\(open)\(close)}}]}",
            ] {
                expectAgreement(event)
                if depth > ChatChunkScanner.maxDepth { #expect(ChatChunkScanner.scan(event) == nil, "depth \(depth)") }
            }
        }
        // Within the bound the scanner reads as usual.
        let nested = String(repeating: "[", count: 59) + String(repeating: "]", count: 59)
        #expect(ChatChunkScanner.scan("{\"choices\":[{\"delta\":{\"content\":\"a\",\"x\":\(nested)}}]}") == Chunk(pieces: [.answer("a")]))
    }

    /// Bytes that are not UTF-8 are refused as bytes; as a String they are U+FFFD, read as
    /// Foundation reads them.
    @Test func invalidUTF8() {
        let invalid: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xC3], [0xE2, 0x82], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
            [0xED, 0xBF, 0xBF], [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFE], [0xFF],
            [0xC3, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x98],
        ]
        let before = Array(#"{"choices":[{"delta":{"content":"a"#.utf8), after = Array(#"b"}}]}"#.utf8)
        for bytes in invalid {
            let event = before + bytes + after
            #expect(event.withUnsafeBufferPointer { ChatChunkScanner.scan(utf8: $0) } == nil, "\(bytes)")
            expectAgreement(bytes: event)
            let repaired = String(decoding: event, as: UTF8.self)
            #expect(ChatChunkScanner.scan(repaired) != nil, "U+FFFD is text like any other: \(bytes)")
        }
        // The edges of the valid ranges are read.
        for scalar in ["\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{10000}", "\u{10FFFF}"] {
            let event = Array(before) + Array(scalar.utf8) + after
            let expected = Chunk(pieces: [.answer("a\(scalar)b")])
            #expect(event.withUnsafeBufferPointer { ChatChunkScanner.scan(utf8: $0) } == expected, "\(scalar.unicodeScalars.first!.value)")
        }
    }

    /// Real events mutated at random: bytes flipped, cut, inserted or repeated, and members and
    /// values put where the chunk's names are read (so that errors, duplicates, other types and
    /// odd numbers and strings reach the places that matter). Wherever the scanner answers,
    /// Foundation answers the same; and the scanner still answers for many of them.
    @Test func randomMutationsOfRealEventsAgree() {
        var seed: UInt64 = 0x5DEE_CE66_D1CE_4E5B
        func random(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        func bytes(_ texts: [String]) -> [[UInt8]] { texts.map { Array($0.utf8) } }
        let fragments = bytes([
            "\"", "\\", "\\u", "\\ud83d", "\\ude00", "\\ud800", "\\n", "\\/", "{", "}", "[", "]", ",", ":", " ", "\n", "null", "true",
            "-", "0", "1e400", "-0", ".5", "e", "E+", "é", "😀", "\u{FEFF}", "\u{7F}", "\u{1F}",
        ]) + [[0x00], [0xFF], [0xC3], [0x80], [0xED, 0xA0, 0x80]]
        let members = bytes([
            #""error":{"message":"x"},"#, #""error":null,"#, #""error":false,"#, #""content":"dup","#, #""reasoning":"r","#,
            #""reasoning_content":null,"#, #""delta":{"content":"d"},"#, #""choices":[{"delta":{"content":"c"}}],"#, #""choices":null,"#,
            #""usage":{"prompt_tokens":7},"#, #""prompt_tokens":1e2,"#, #""completion_tokens":-3,"#, #""n":1e400,"#,
            #""\u0063ontent":"e","#, "\"\u{FEFF}content\":\"b\",", #""x":"\ud800","#, #""k":[[[[{}]]]],"#, #""content":"a\u0000\ud83d\ude00","#,
        ])
        let values = bytes([
            "null", "1e400", "12.0", "-0", "-5", "true", "0", "9223372036854775808", "123456789012345678901234567890", "[]", "{}",
            #""\ud83d\ude00""#, #""\u0000\"\\\/""#, "\"\u{FEFF}z\"", #""\ufeffz""#, #"{"content":"x"}"#, #"[{"delta":{"content":"y"}}]"#,
            #"[{"delta":{"reasoning":"r"}},1]"#, #"{"prompt_tokens":1,"completion_tokens":2}"#, #""s""#,
        ])
        func positions(of byte: UInt8, in event: [UInt8]) -> [Int] {
            event.indices.filter { event[$0] == byte }
        }
        let events = Self.serverEvents.map { Array($0.0.utf8) }
        var read = 0
        let rounds = 3000
        for _ in 0..<rounds {
            var event = events[random(events.count)]
            for _ in 0...random(3) {
                let at = random(event.count + 1)
                switch random(7) {
                case 0 where at < event.count: event[at] = UInt8(random(256))
                case 1: event.removeSubrange(at..<min(event.count, at + 1 + random(8)))
                case 2: event.insert(contentsOf: fragments[random(fragments.count)], at: at)
                case 3: event = Array(event[..<at])
                case 4:
                    // A member first in an object (a trailing comma where the object was empty).
                    let braces = positions(of: UInt8(ascii: "{"), in: event)
                    if !braces.isEmpty { event.insert(contentsOf: members[random(members.count)], at: braces[random(braces.count)] + 1) }
                case 5:
                    // Another value for a member: `"k":V,"z":old`.
                    let colons = positions(of: UInt8(ascii: ":"), in: event)
                    if !colons.isEmpty {
                        event.insert(contentsOf: values[random(values.count)] + Array(#","z":"#.utf8), at: colons[random(colons.count)] + 1)
                    }
                default:
                    let end = min(event.count, at + 1 + random(20))
                    event.insert(contentsOf: event[at..<end], at: end)
                }
            }
            expectAgreement(bytes: event)
            if let text = String(validating: event, as: UTF8.self), ChatChunkScanner.scan(text) != nil { read += 1 }
        }
        #expect(read > rounds / 10, "the scanner answered for only \(read) of \(rounds) mutated events")
    }
}
