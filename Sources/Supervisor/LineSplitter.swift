/// Cuts a worker's output into lines, as bytes (no decoding: a stray invalid byte must not
/// cost the rest). A line longer than `maxLength` is passed on in pieces of that length rather
/// than refused: swift-subprocess's own line reader throws on one, and a supervisor that stops
/// reading would leave the worker blocked on a full pipe.
struct LineSplitter {
    let maxLength: Int
    private var partial: [UInt8] = []

    init(maxLength: Int = 64 * 1024) {
        self.maxLength = maxLength
    }

    /// The complete lines in `bytes` (each with its newline), keeping the rest for later.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            partial.append(byte)
            if byte == UInt8(ascii: "\n") {
                lines.append(partial)
                partial.removeAll(keepingCapacity: true)
            } else if partial.count >= maxLength {
                partial.append(UInt8(ascii: "\n"))
                lines.append(partial)
                partial.removeAll(keepingCapacity: true)
            }
        }
        return lines
    }

    /// Bytes of a line not complete yet.
    var pendingCount: Int { partial.count }

    /// What is left at the end of the output, as a last line.
    mutating func finish() -> [UInt8]? {
        guard !partial.isEmpty else { return nil }
        defer { partial.removeAll() }
        return partial + [UInt8(ascii: "\n")]
    }
}
