/// `the final answer is:`, the phrase the subnet's reward reads the number after.
public enum FinalAnswer {
    public static let marker = Array("the final answer is:".utf8)

    public static func arrived(in completion: String) -> Bool {
        lastMarkerEnd(in: Array(completion.utf8)) != nil
    }

    /// Where the last occurrence of the marker (any case) ends.
    static func lastMarkerEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        var start = bytes.count - marker.count
        while start >= 0 {
            var index = 0
            while index < marker.count {
                let byte = bytes[start + index]
                // ASCII lower-casing: the marker is ASCII, and no byte of another character is.
                if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != marker[index] { break }
                index += 1
            }
            if index == marker.count { return start + marker.count }
            start -= 1
        }
        return nil
    }

    /// ASCII whitespace, as Python's `str.split()` sees it in these answers.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Whitespace-separated words in a read.
    static func wordCount<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int {
        var count = 0, inWord = false
        for byte in bytes {
            let space = isSpace(byte)
            if !space && !inWord { count += 1 }
            inWord = !space
        }
        return count
    }
}
