/// An axon's `ip` (u128) as bittensor shows it: `str(netaddr.IPAddress(ip))`, which picks IPv4
/// for any value below 2³², whatever `ip_type` says, and the compressed IPv6 form otherwise.
public enum IPAddressText {
    public static func format(_ ip: UInt128) -> String {
        if ip <= UInt128(UInt32.max) { return ipv4(UInt32(ip)) }
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: ip >> (112 - 16 * $0)) }
        // IPv4-mapped addresses keep their dotted tail.
        if groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xFFFF {
            return "::ffff:" + ipv4(UInt32(truncatingIfNeeded: ip))
        }
        // The longest run of two or more zero groups becomes "::" (the first of equal runs).
        var best = (start: -1, length: 0), index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > best.length, end - index >= 2 { best = (index, end - index) }
            index = end
        }
        let text = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return text.joined(separator: ":") }
        return text[..<best.start].joined(separator: ":") + "::" + text[(best.start + best.length)...].joined(separator: ":")
    }

    static func ipv4(_ value: UInt32) -> String {
        (0..<4).map { String(value >> (24 - 8 * $0) & 0xFF) }.joined(separator: ".")
    }

    /// Parses dotted IPv4 or IPv6 text into the chain's u128 and ip_type, as bittensor's
    /// `int(netaddr.IPAddress(ip))`; nil for anything else (host names are not resolved).
    public static func parse(_ text: String) -> (value: UInt128, type: UInt8)? {
        if let v4 = parseIPv4(text) { return (UInt128(v4), 4) }
        return parseIPv6(text).map { ($0, 6) }
    }

    static func parseIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt32(part), octet <= 255,
                  part == "0" || !part.hasPrefix("0") else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func parseIPv6(_ text: String) -> UInt128? {
        var text = Substring(text)
        // A dotted IPv4 tail stands for the last two groups.
        var dottedTail: UInt32?
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(String(text[text.index(after: lastColon)...])) else { return nil }
            dottedTail = v4
            text = text[...lastColon] + "0:0"
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let rest = groups(halves[1]), head.count + rest.count <= 7 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - rest.count) + rest
        }
        guard all.count == 8 else { return nil }
        let value = all.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
        return dottedTail.map { value & ~UInt128(UInt32.max) | UInt128($0) } ?? value
    }
}
