/// A reader of the Prometheus text exposition format, what vLLM, SGLang, llama.cpp and TGI serve
/// at `/metrics`. The text comes from a server the miners do not control: the input and each
/// line are bounded, a malformed line is skipped, and no byte sequence traps.
public enum PrometheusText {
    /// One sample line: `name{label="value",...} value [timestamp]`.
    public struct Sample: Sendable, Equatable {
        public var name: String
        /// A label given twice keeps its last value.
        public var labels: [String: String]
        /// As written: NaN and ±Inf included.
        public var value: Double

        public init(name: String, labels: [String: String] = [:], value: Double) {
            self.name = name
            self.labels = labels
            self.value = value
        }
    }

    /// Bytes read; beyond it the text is cut at its last whole line. vLLM's exposition with
    /// every histogram is a few hundred KiB.
    public static let maxBytes = 4 << 20
    /// A longer line is skipped whole.
    public static let maxLineBytes = 64 << 10
    /// A sample with more labels is skipped.
    public static let maxLabels = 128
    /// Go's float formatting never needs more; a longer value is not a number we read.
    static let maxValueBytes = 64

    /// Every well-formed sample in order. Comments (`# HELP`, `# TYPE`, `# EOF`), blank lines and
    /// malformed lines are skipped. Text longer than `limit` is read up to its last whole line
    /// within it.
    public static func samples(in bytes: [UInt8], limit: Int = maxBytes) -> [Sample] {
        var samples: [Sample] = []
        forEachSample(in: bytes, limit: limit) { samples.append($0) }
        return samples
    }

    public static func forEachSample(in bytes: [UInt8], limit: Int = maxBytes, _ body: (Sample) -> Void) {
        bytes.withUnsafeBufferPointer { all in
            var text = all
            if all.count > limit {
                // Cut: the last line may be a fragment (`vllm:num_requests_running 1` of `12`).
                let head = UnsafeBufferPointer(rebasing: all[..<max(0, limit)])
                let end = head.lastIndex(of: UInt8(ascii: "\n")) ?? 0
                text = UnsafeBufferPointer(rebasing: all[..<end])
            }
            var start = 0
            while start < text.count {
                let newline = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.count
                if newline - start <= maxLineBytes,
                   let sample = parseLine(UnsafeBufferPointer(rebasing: text[start..<newline])) {
                    body(sample)
                }
                start = newline + 1
            }
        }
    }

    /// One line without its newline; nil when it is not a sample.
    static func parseLine(_ line: UnsafeBufferPointer<UInt8>) -> Sample? {
        var reader = LineReader(bytes: line)
        reader.skipBlanks()
        guard let first = reader.peek, first != UInt8(ascii: "#") else { return nil }
        guard let name = reader.name(first: isMetricNameStart, rest: isMetricNameByte) else { return nil }
        var labels: [String: String] = [:]
        let blanks = reader.skipBlanks()
        if reader.peek == UInt8(ascii: "{") {
            reader.advance()
            guard let parsed = reader.labels() else { return nil }
            labels = parsed
            reader.skipBlanks()
        } else if blanks == 0 {
            return nil  // `foo-1 2` is not foo = -1
        }
        guard let valueText = reader.token(), let value = number(valueText) else { return nil }
        reader.skipBlanks()
        // An optional timestamp, then nothing but an OpenMetrics exemplar (`# {...} 1.0`).
        if let next = reader.peek, next != UInt8(ascii: "#") {
            guard let timestamp = reader.token(), number(timestamp) != nil else { return nil }
            reader.skipBlanks()
            if let after = reader.peek, after != UInt8(ascii: "#") { return nil }
        }
        return Sample(name: name, labels: labels, value: value)
    }

    /// Go's `ParseFloat` spellings, which is what the servers write: `12`, `0.5`, `1e-05`, `NaN`,
    /// `+Inf`, `-Inf`.
    static func number(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !text.isEmpty, text.count <= maxValueBytes else { return nil }
        let string = String(decoding: text, as: UTF8.self)
        switch string {
        case "NaN", "nan": return .nan
        case "+Inf", "Inf", "+inf", "inf": return .infinity
        case "-Inf", "-inf": return -.infinity
        default:
            // Swift's own parser also reads hex floats and `infinity`; digits, sign, dot and
            // exponent only, as Prometheus writes them.
            guard text.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e")
                || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") })
            else { return nil }
            return Double(string)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
    static func isMetricNameStart(_ byte: UInt8) -> Bool {
        isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
    }
    static func isMetricNameByte(_ byte: UInt8) -> Bool { isMetricNameStart(byte) || isDigit(byte) }
    static func isLabelNameStart(_ byte: UInt8) -> Bool { isLetter(byte) || byte == UInt8(ascii: "_") }
    static func isLabelNameByte(_ byte: UInt8) -> Bool { isLabelNameStart(byte) || isDigit(byte) }

    /// A cursor over one line; every read checks the end.
    struct LineReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func advance() { index += 1 }

        /// Spaces, tabs and a carriage return (a CRLF line); how many were skipped.
        @discardableResult
        mutating func skipBlanks() -> Int {
            let start = index
            while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
                advance()
            }
            return index - start
        }

        mutating func name(first: (UInt8) -> Bool, rest: (UInt8) -> Bool) -> String? {
            guard let byte = peek, first(byte) else { return nil }
            let start = index
            advance()
            while let byte = peek, rest(byte) { advance() }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        /// Up to the next blank or the end.
        mutating func token() -> UnsafeBufferPointer<UInt8>? {
            let start = index
            while let byte = peek, byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t"), byte != UInt8(ascii: "\r") {
                advance()
            }
            return index > start ? UnsafeBufferPointer(rebasing: bytes[start..<index]) : nil
        }

        /// After `{`: `name="value"` pairs separated by commas (a trailing one allowed), then `}`.
        mutating func labels() -> [String: String]? {
            var labels: [String: String] = [:]
            var count = 0
            while true {
                skipBlanks()
                if peek == UInt8(ascii: "}") {
                    advance()
                    return labels
                }
                count += 1
                guard count <= PrometheusText.maxLabels,
                      let name = name(first: PrometheusText.isLabelNameStart, rest: PrometheusText.isLabelNameByte)
                else { return nil }
                skipBlanks()
                guard peek == UInt8(ascii: "=") else { return nil }
                advance()
                skipBlanks()
                guard let value = quoted() else { return nil }
                labels[name] = value
                skipBlanks()
                if peek == UInt8(ascii: ",") {
                    advance()
                } else if peek != UInt8(ascii: "}") {
                    return nil
                }
            }
        }

        /// A label value: `"` ... `"` with `\\`, `\"` and `\n` escapes; an unknown escape is kept
        /// as written.
        mutating func quoted() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            advance()
            var value: [UInt8] = []
            while let byte = peek {
                advance()
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    advance()
                    switch escaped {
                    case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(escaped)
                    default: value += [byte, escaped]
                    }
                default:
                    value.append(byte)
                }
            }
            return nil
        }
    }
}
