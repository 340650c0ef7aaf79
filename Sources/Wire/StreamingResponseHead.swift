/// The headers of a streamed answer, in the order a bittensor 10.5.0 axon sends them (see
/// `axon-streaming-response-bittensor-10.5.0.http`); the server puts `date` and `server` first.
public enum StreamingResponseHead {
    /// - Parameters:
    ///   - synapseName: the route's synapse name.
    ///   - request: the parsed body; its `axon` and `dendrite` objects are echoed.
    ///   - headers: the request headers; `header_size` / `total_size` are echoed from them.
    ///   - bodyHash: the verified body hash.
    ///   - processTime: seconds from receipt to the response head.
    public static func headers(
        synapseName: String, request: SynapseRequest, headers: SynapseHeaders,
        bodyHash: String, processTime: Double
    ) -> [(String, String)] {
        var axon = request.axon
        axon.statusCode = 200
        axon.statusMessage = "Success"
        axon.processTime = processTime
        var fields: [(String, String)] = [
            ("content-type", "text/event-stream"),
            ("name", synapseName),
            ("timeout", request.timeout.description),
        ]
        fields += axon.headers(prefix: "axon")
        fields += request.dendrite.headers(prefix: "dendrite")
        fields += [
            // Both are base64 of `[]`: the dendrite sends only empty stand-ins of required fields.
            ("bt_header_input_obj_roles", "W10="),
            ("bt_header_input_obj_messages", "W10="),
            ("header_size", String(headers.headerSize ?? request.headerSize ?? 0)),
            ("total_size", String(headers.totalSize ?? request.totalSize ?? 0)),
            ("computed_body_hash", bodyHash),
            ("Transfer-Encoding", "chunked"),
        ]
        return fields
    }
}
