import TestSupport
import Testing
@testable import Wire

@Suite struct HeadersTests {
    static func headerMap(_ lines: [String]) -> [String: String] {
        var map: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            map[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return map
    }

    @Test func parsesTheCapturedRequestHeaders() throws {
        let map = Self.headerMap(try Fixtures.http("dendrite-request-bittensor-10.5.0.http").lines)
        let headers = try SynapseHeaders.parse { map[$0] }
        #expect(headers.timeout == 3.0)
        #expect(headers.dendriteNonce == 1_795_552_238_487_687_740)
        #expect(headers.dendriteVersion == 10_005_000)
        #expect(headers.headerSize == 464)
        #expect(headers.totalSize == 3652)
        #expect(headers.computedBodyHash == "476dd90b83bc25c679da27b9a4d74b100bd93bf49adfe54123d47ad80567dcdb")
    }

    @Test(arguments: [
        ("timeout", "soon", "Header 'timeout' must be a decimal number, got 'soon'"),
        ("timeout", "-1", "Header 'timeout' must be a non-negative number of seconds, got '-1'"),
        ("bt_header_dendrite_nonce", "12a", "Header 'bt_header_dendrite_nonce' must be a decimal number, got '12a'"),
        ("total_size", "1.5", "Header 'total_size' must be a decimal number, got '1.5'"),
        ("timeout", "0x10", "Header 'timeout' must be a decimal number, got '0x10'"),
        ("timeout", "inf", "Header 'timeout' must be a decimal number, got 'inf'"),
        ("timeout", "nan", "Header 'timeout' must be a decimal number, got 'nan'"),
        ("timeout", "1e400", "Header 'timeout' must be a decimal number, got '1e400'"),
        ("bt_header_dendrite_nonce", "99999999999999999999", "Header 'bt_header_dendrite_nonce' must be a decimal number, got '99999999999999999999'"),
        ("bt_header_dendrite_version", "0x10", "Header 'bt_header_dendrite_version' must be a decimal number, got '0x10'"),
        ("bt_header_input_obj_messages", "%%%", "Header 'bt_header_input_obj_messages' must be base64-encoded JSON, got '%%%'"),
    ])
    func rejectsMalformedValuesWith400(name: String, value: String, message: String) {
        do {
            _ = try SynapseHeaders.parse { $0 == name ? value : nil }
            Issue.record("expected a rejection")
        } catch {
            #expect(error.status == 400)
            #expect(error.message == message)
        }
    }

    /// Large decimal values parse (the request budget bounds them later); forms Python writes.
    @Test(arguments: [("1e21", 1e21), ("17", 17.0), ("12.5", 12.5), (".5", 0.5), ("3.", 3.0), ("+2E3", 2000.0)])
    func decimalTimeoutsParse(text: String, value: Double) throws {
        #expect(try SynapseHeaders.parse { $0 == "timeout" ? text : nil }.timeout == value)
    }

    /// Same names (case-insensitively), order and value forms as the Python axon's capture.
    @Test func responseHeadersFollowTheCapture() throws {
        let request = try Fixtures.http("dendrite-request-bittensor-10.5.0.http")
        let response = try Fixtures.http("axon-streaming-response-bittensor-10.5.0.http")
        let requestMap = Self.headerMap(request.lines)
        let ours = StreamingResponseHead.headers(
            synapseName: "StreameinsteinSynapse",
            request: try SynapseRequest.decode(request.body),
            headers: try SynapseHeaders.parse { requestMap[$0] },
            bodyHash: "476dd90b83bc25c679da27b9a4d74b100bd93bf49adfe54123d47ad80567dcdb",
            processTime: 8.702278137207031e-05
        )
        // The capture starts with uvicorn's date and server, which the server adds.
        let captured = response.lines.dropFirst(3).map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
        }
        #expect(ours.map { $0.0.lowercased() } == captured.map { $0.0.lowercased() })
        for ((name, value), (_, expected)) in zip(ours, captured) where name != "total_size" {
            #expect(value == expected, "\(name)")
        }
    }

    @Test func unknownSynapseWordingIsThePythonAxons() {
        let rejection = Rejection.unknownSynapse("Foo", available: ["StreameinsteinSynapse", "StreamCoreSynapse"])
        #expect(rejection.status == 404)
        #expect(rejection.body == #"{"message":"Synapse name 'Foo' not found. Available synapses ['StreameinsteinSynapse', 'StreamCoreSynapse']"}"#)
    }
}
