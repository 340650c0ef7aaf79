import Config

/// What `SubtensorModule.Axons(netuid, hotkey)` stores after a serve (subtensor's `AxonInfo`).
public struct AxonInfo: Sendable, Equatable, CustomStringConvertible {
    public var block: UInt64
    public var version: UInt32
    public var ip: UInt128
    public var port: UInt16
    public var ipType: UInt8
    public var protocolNumber: UInt8
    public var placeholder1: UInt8
    public var placeholder2: UInt8

    public init(
        block: UInt64 = 0, version: UInt32, ip: UInt128, port: UInt16, ipType: UInt8, protocolNumber: UInt8,
        placeholder1: UInt8 = 0, placeholder2: UInt8 = 0
    ) {
        self.block = block
        self.version = version
        self.ip = ip
        self.port = port
        self.ipType = ipType
        self.protocolNumber = protocolNumber
        self.placeholder1 = placeholder1
        self.placeholder2 = placeholder2
    }

    public init(scale bytes: [UInt8]) throws(ScaleError) {
        var reader = ScaleReader(bytes)
        block = try reader.u64()
        version = try reader.u32()
        ip = try reader.u128()
        port = try reader.u16()
        ipType = try reader.u8()
        protocolNumber = try reader.u8()
        placeholder1 = try reader.u8()
        placeholder2 = try reader.u8()
        guard reader.isAtEnd else { throw ScaleError("AxonInfo has \(reader.remaining) extra bytes") }
    }

    /// Whether serving `other` would change nothing: the fields bittensor compares before it
    /// skips a serve ("Axon already served"); the block is not one of them.
    public func matches(_ other: AxonInfo) -> Bool {
        version == other.version && ip == other.ip && port == other.port && ipType == other.ipType
            && protocolNumber == other.protocolNumber && placeholder1 == other.placeholder1 && placeholder2 == other.placeholder2
    }

    public var address: String {
        let ip = IPAddressText.format(ip)
        return ipType == 6 && ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    public var description: String {
        "\(address) (ip_type \(ipType), protocol \(protocolNumber), version \(version)\(block > 0 ? ", block \(block)" : ""))"
    }
}
