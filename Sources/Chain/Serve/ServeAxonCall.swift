/// `SubtensorModule.serve_axon(netuid, version, ip, port, ip_type, protocol, placeholder1,
/// placeholder2)`, the call a Python miner's `axon.serve(netuid, subtensor)` sends.
public struct ServeAxonCall: Sendable, Equatable {
    /// bittensor 10.5.0's `version_as_int` (1000²·10 + 1000·5 + 0): publishing the same number
    /// keeps a miner moved from Python from re-serving (and spending a rate-limit slot).
    public static let bittensorVersion: UInt32 = 10_005_000
    /// bittensor hard-codes protocol 4 in `serve_axon_extrinsic`.
    public static let bittensorProtocol: UInt8 = 4
    /// The parameter names the runtime must declare, in order, for this encoding to be right.
    static let parameterNames = ["netuid", "version", "ip", "port", "ip_type", "protocol", "placeholder1", "placeholder2"]

    public var netuid: UInt16
    public var axon: AxonInfo

    public init(netuid: UInt16, ip: UInt128, ipType: UInt8, port: UInt16, version: UInt32 = ServeAxonCall.bittensorVersion) {
        self.netuid = netuid
        self.axon = AxonInfo(version: version, ip: ip, port: port, ipType: ipType, protocolNumber: Self.bittensorProtocol)
    }

    /// The call's bytes: pallet and call index, then the parameters (none of them compact).
    public func encoded(pallet: UInt8, call: UInt8) -> [UInt8] {
        var writer = ScaleWriter()
        writer.u8(pallet)
        writer.u8(call)
        writer.u16(netuid)
        writer.u32(axon.version)
        writer.u128(axon.ip)
        writer.u16(axon.port)
        writer.u8(axon.ipType)
        writer.u8(axon.protocolNumber)
        writer.u8(axon.placeholder1)
        writer.u8(axon.placeholder2)
        return writer.bytes
    }

    /// Finds the call in the runtime's metadata by name, as bittensor does, and refuses a
    /// runtime whose `serve_axon` takes other parameters.
    public func encoded(metadata: RuntimeMetadata) throws -> [UInt8] {
        let (pallet, call, fields) = try metadata.call(pallet: "SubtensorModule", "serve_axon")
        let names = fields.map { $0.name ?? "?" }
        guard names == Self.parameterNames else {
            throw ChainFailure("this runtime's SubtensorModule.serve_axon takes (\(names.joined(separator: ", "))), not (\(Self.parameterNames.joined(separator: ", "))); refusing to sign a call this client does not know")
        }
        return encoded(pallet: pallet, call: call)
    }
}
