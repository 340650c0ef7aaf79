/// Server-sent events (the WHATWG `text/event-stream` format) as OpenAI-compatible servers and
/// TGI send them: bytes in, in whatever pieces the network delivers, and the `data` of each
/// complete event out. Comment lines (`: ping`) and other fields are skipped; a line may end in
/// `\n`, `\r\n` or `\r`; a character split across reads is joined before it is decoded.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [String] = []
    private var sawCarriageReturn = false

    public init() {}

    /// The events completed by `bytes`.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if sawCarriageReturn {
                sawCarriageReturn = false
                if byte == 0x0A { continue }  // the \n of a \r\n
            }
            switch byte {
            case 0x0A:
                endLine(into: &events)
            case 0x0D:
                sawCarriageReturn = true
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// An event left without its blank line when the stream ended.
    public mutating func finish() -> [String] {
        var events: [String] = []
        if !line.isEmpty { endLine(into: &events) }
        if !data.isEmpty { events.append(data.joined(separator: "\n")) }
        data.removeAll()
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if !data.isEmpty { events.append(data.joined(separator: "\n")) }
            data.removeAll()
            return
        }
        if line.first == UInt8(ascii: ":") { return }  // a comment, e.g. a keep-alive ping
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
