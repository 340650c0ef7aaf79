/// Server-sent events (the WHATWG `text/event-stream` format) as OpenAI-compatible servers and
/// TGI send them: bytes in, in whatever pieces the network delivers, and the `data` of each
/// complete event out. Comment lines (`: ping`) and other fields are skipped; a line may end in
/// `\n`, `\r\n` or `\r`; a character split across reads is joined before it is decoded.
///
/// On the path of every token: a read is scanned for line ends in place and only a line split
/// across reads is copied; each `data` value is decoded once, from its bytes.
public struct SSEParser: Sendable {
    /// The start of a line whose end has not arrived yet.
    private var line: [UInt8] = []
    private var data: [String] = []
    private var dataBytes = 0
    private var sawCarriageReturn = false

    /// Bytes held for an event not yet complete (a line without its end, `data` lines without
    /// the blank line): a reader bounds it, since a peer may never end a line.
    public var pendingBytes: Int { line.count + dataBytes }

    public init() {}

    /// The events completed by `bytes`.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        if let events = bytes.withContiguousStorageIfAvailable({ feed(buffer: $0) }) { return events }
        return Array(bytes).withUnsafeBufferPointer { feed(buffer: $0) }
    }

    /// The events completed by `bytes` (the bytes of one read).
    public mutating func feed(buffer bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var events: [String] = []
        var start = 0
        let count = bytes.count
        if sawCarriageReturn, count > 0 {
            sawCarriageReturn = false
            if bytes[0] == 0x0A { start = 1 }  // the \n of a \r\n split across reads
        }
        var index = start
        while index < count {
            let byte = bytes[index]
            guard byte == 0x0A || byte == 0x0D else {
                index += 1
                continue
            }
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<index])
            if line.isEmpty {
                endLine(piece, into: &events)
            } else {
                line.append(contentsOf: piece)
                line.withUnsafeBufferPointer { endLine($0, into: &events) }
                line.removeAll(keepingCapacity: true)
            }
            index += 1
            if byte == 0x0D {
                if index < count {
                    if bytes[index] == 0x0A { index += 1 }  // the \n of a \r\n
                } else {
                    sawCarriageReturn = true
                }
            }
            start = index
        }
        if start < count { line.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<count])) }
        return events
    }

    /// An event left without its blank line when the stream ended.
    public mutating func finish() -> [String] {
        var events: [String] = []
        if !line.isEmpty {
            line.withUnsafeBufferPointer { endLine($0, into: &events) }
            line.removeAll()
        }
        if !data.isEmpty { events.append(joinedData()) }
        data.removeAll()
        dataBytes = 0
        return events
    }

    private func joinedData() -> String {
        data.count == 1 ? data[0] : data.joined(separator: "\n")
    }

    /// One complete line (without its end).
    private mutating func endLine(_ line: UnsafeBufferPointer<UInt8>, into events: inout [String]) {
        if line.isEmpty {
            if !data.isEmpty { events.append(joinedData()) }
            data.removeAll(keepingCapacity: true)
            dataBytes = 0
            return
        }
        if line[0] == UInt8(ascii: ":") { return }  // a comment, e.g. a keep-alive ping
        // `data:` then ASCII (or nothing), as every server sends it: the field and the value
        // are cut from the bytes. Anything else is split by characters as the line's text
        // (a colon or a space followed by a combining mark is part of a longer character).
        let count = line.count
        guard count >= 5, Self.isData(UnsafeBufferPointer(rebasing: line[..<4])), line[4] == UInt8(ascii: ":") else {
            if count == 4, Self.isData(line) { data.append("") } else { slowLine(line) }
            dataBytes += count
            return
        }
        var valueStart = 5
        if valueStart < count, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        guard valueStart == 5 || valueStart == count || line[valueStart] < 0x80, count == 5 || line[5] < 0x80 else {
            slowLine(line)
            dataBytes += count
            return
        }
        data.append(String(decoding: UnsafeBufferPointer(rebasing: line[valueStart...]), as: UTF8.self))
        dataBytes += count
    }

    /// A line cut by characters: the field before the first colon, the value after it without
    /// one leading space.
    private mutating func slowLine(_ line: UnsafeBufferPointer<UInt8>) {
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

    private static func isData(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        field.count == 4 && field[0] == UInt8(ascii: "d") && field[1] == UInt8(ascii: "a")
            && field[2] == UInt8(ascii: "t") && field[3] == UInt8(ascii: "a")
    }
}
