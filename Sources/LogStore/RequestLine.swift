/// A request record as one line of text (tab-separated, escaped), for the request journal:
/// cheap to write on the request path and exact to read back (doubles round-trip).
enum RequestLine {
    static let null = "\\N"

    static func encode(_ record: RequestRecord) -> String {
        // One growing string: this runs on the request path, twice per request.
        var line = ""
        line.reserveCapacity(400 + record.batches.count * 24)
        var first = true
        func separate() {
            if !first { line += "\t" }
            first = false
        }
        func text(_ value: String?) { separate(); line += value.map(escape) ?? null }
        func int(_ value: Int?) { separate(); if let value { line += String(value) } else { line += null } }
        func real(_ value: Double?) { separate(); if let value { line += value.description } else { line += null } }
        text(record.worker); text(record.minerHotkey); text(record.synapse); text(record.backend); int(record.batchSize)
        text(record.validatorHotkey); text(record.dendriteIP); int(record.dendriteVersion); text(record.uuid)
        separate(); line += record.nonce.map { String($0) } ?? null
        real(record.timeout); real(record.receivedAt); real(record.firstBatchAt)
        real(record.finishedAt); text(record.outcome); int(record.status); text(record.reason); text(record.detail)
        real(record.queueWait); real(record.backendFirstItem); real(record.backendItemsPerSecond)
        int(record.promptTokens); int(record.completionTokens); int(record.itemsSent); int(record.bytesSent)
        int(record.itemsGenerated); int(record.finalAnswerSent ? 1 : 0)
        separate()
        for (index, batch) in record.batches.enumerated() {
            if index > 0 { line += ";" }
            line += "\(batch.sequence),\(batch.offset.description),\(batch.items),\(batch.bytes),\(batch.isFinal ? 1 : 0)"
        }
        separate()
        if let event = record.timeoutEvent {
            line += "\(event.at.description),\(event.limit.description),\(event.elapsed.description),\(event.batchesSent),\(event.itemsDropped)"
        } else {
            line += null
        }
        text(record.claimedHotkey); int(record.count)
        int(record.reasoningItems); real(record.reasoningSeconds)
        return line
    }

    /// Nil for a line that is not a complete record (e.g. cut by a kill mid-write).
    static func decode(_ line: Substring) -> RequestRecord? {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        // 29 fields before refusal counts and claimed hotkeys were journaled (a journal left by
        // an older worker), 31 since, 33 with reasoning.
        guard [29, 31, 33].contains(fields.count) else { return nil }
        var index = 0
        func next() -> String {
            defer { index += 1 }
            return fields[index]
        }
        func text() -> String? { let field = next(); return field == null ? nil : unescape(field) }
        func number<T: LosslessStringConvertible>(_: T.Type) -> T?? {
            let field = next()
            if field == null { return .some(nil) }
            return T(field).map { .some($0) }
        }
        guard let worker = text(), let hotkey = text(), let synapse = text(), let backend = text(),
              let batchSize = number(Int.self) ?? nil else { return nil }
        let validator = text(), ip = text()
        guard let version = number(Int.self) else { return nil }
        let uuid = text()
        guard let nonce = number(Int64.self), let timeout = number(Double.self),
              let receivedAt = number(Double.self) ?? nil, let firstBatchAt = number(Double.self),
              let finishedAt = number(Double.self) ?? nil, let outcome = text(), let status = number(Int.self) ?? nil
        else { return nil }
        var record = RequestRecord(
            worker: worker, minerHotkey: hotkey, synapse: synapse, backend: backend, batchSize: batchSize,
            receivedAt: receivedAt, finishedAt: finishedAt, outcome: outcome, status: status
        )
        record.validatorHotkey = validator
        record.dendriteIP = ip
        record.dendriteVersion = version
        record.uuid = uuid
        record.nonce = nonce
        record.timeout = timeout
        record.firstBatchAt = firstBatchAt
        record.reason = text()
        record.detail = text()
        guard let queueWait = number(Double.self), let firstItem = number(Double.self), let rate = number(Double.self),
              let prompt = number(Int.self), let completion = number(Int.self), let sent = number(Int.self) ?? nil,
              let bytes = number(Int.self) ?? nil, let generated = number(Int.self) ?? nil,
              let final = number(Int.self) ?? nil else { return nil }
        record.queueWait = queueWait
        record.backendFirstItem = firstItem
        record.backendItemsPerSecond = rate
        record.promptTokens = prompt
        record.completionTokens = completion
        record.itemsSent = sent
        record.bytesSent = bytes
        record.itemsGenerated = generated
        record.finalAnswerSent = final != 0
        let batches = next()
        for item in batches.split(separator: ";") {
            let parts = item.split(separator: ",")
            guard parts.count == 5, let sequence = Int(parts[0]), let offset = Double(parts[1]), let items = Int(parts[2]),
                  let bytes = Int(parts[3]) else { return nil }
            record.batches.append(BatchRecord(sequence: sequence, offset: offset, items: items, bytes: bytes, isFinal: parts[4] == "1"))
        }
        let timeoutEvent = next()
        if timeoutEvent != null {
            let parts = timeoutEvent.split(separator: ",")
            guard parts.count == 5, let at = Double(parts[0]), let limit = Double(parts[1]), let elapsed = Double(parts[2]),
                  let sentBatches = Int(parts[3]), let dropped = Int(parts[4]) else { return nil }
            record.timeoutEvent = TimeoutRecord(at: at, limit: limit, elapsed: elapsed, batchesSent: sentBatches, itemsDropped: dropped)
        }
        if fields.count >= 31 {
            record.claimedHotkey = text()
            guard let count = number(Int.self) ?? nil, count >= 1 else { return nil }
            record.count = count
        }
        if fields.count == 33 {
            guard let items = number(Int.self) ?? nil, items >= 0, let seconds = number(Double.self) else { return nil }
            record.reasoningItems = items
            record.reasoningSeconds = seconds
        }
        return record
    }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
            return text
        }
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var escaped = false
        for character in text.unicodeScalars {
            if escaped {
                switch character {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                default: out.unicodeScalars.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
