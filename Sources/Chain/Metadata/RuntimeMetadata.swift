/// Runtime metadata v15 (frame-metadata), decoded as far as this client uses it: the type
/// registry, each pallet's index and call type, the extrinsic format with its transaction
/// extensions, and the runtime APIs with their input and output types. Storage entries,
/// events, constants and docs are read past, not kept.
public struct RuntimeMetadata: Sendable {
    public struct Pallet: Sendable {
        public var name: String
        public var index: UInt8
        /// The pallet's call enum, when it has calls.
        public var callType: Int?
    }

    public struct TransactionExtension: Sendable {
        public var identifier: String
        /// The explicit part, in the extrinsic.
        public var type: Int
        /// The implicit part, only in the signing payload.
        public var implicitType: Int
    }

    public struct ApiMethod: Sendable {
        public var inputs: [(name: String, type: Int)]
        public var output: Int
    }

    public var registry: TypeRegistry
    public var pallets: [Pallet]
    public var extrinsicVersion: UInt8
    public var extensions: [TransactionExtension]
    /// `Api_method` (as `state_call` names them) to its signature.
    public var apiMethods: [String: ApiMethod]

    /// Decodes `state_call("Metadata_metadata_at_version", 15)`'s result: `Option<Vec<u8>>`
    /// around the prefixed metadata.
    public init(stateCallResult bytes: [UInt8]) throws(ScaleError) {
        var outer = ScaleReader(bytes)
        guard let inner = try outer.option({ (r: inout ScaleReader) throws(ScaleError) in try r.bytesWithLength() }) else {
            throw ScaleError("the node has no metadata v15")
        }
        try self.init(prefixed: inner)
    }

    /// Decodes `"meta"`, the version byte (15) and the v15 body.
    public init(prefixed bytes: [UInt8]) throws(ScaleError) {
        var reader = ScaleReader(bytes)
        guard try reader.u32() == 0x6174_656d else { throw ScaleError("not runtime metadata (no 'meta' magic)") }
        let version = try reader.u8()
        guard version == 15 else { throw ScaleError("metadata version \(version); this client reads version 15") }
        registry = try TypeRegistry.decode(&reader)
        pallets = try reader.vector(Self.decodePallet)
        extrinsicVersion = try reader.u8()
        for _ in 0..<4 { _ = try reader.compact() }  // address, call, signature and extra types
        extensions = try reader.vector { (r: inout ScaleReader) throws(ScaleError) in
            let identifier = try r.string()
            let type = try r.typeID()
            return TransactionExtension(identifier: identifier, type: type, implicitType: try r.typeID())
        }
        _ = try reader.compact()  // the runtime type
        var methods: [String: ApiMethod] = [:]
        let apiCount = try reader.count()
        for _ in 0..<apiCount {
            let api = try reader.string()
            let methodCount = try reader.count()
            for _ in 0..<methodCount {
                let name = try reader.string()
                let inputs = try reader.vector { (r: inout ScaleReader) throws(ScaleError) in
                    let name = try r.string()
                    return (name: name, type: try r.typeID())
                }
                let output = try reader.typeID()
                try TypeRegistry.skipDocs(&reader)
                methods["\(api)_\(name)"] = ApiMethod(inputs: inputs, output: output)
            }
            try TypeRegistry.skipDocs(&reader)
        }
        apiMethods = methods
    }

    private static func decodePallet(_ reader: inout ScaleReader) throws(ScaleError) -> Pallet {
        let name = try reader.string()
        _ = try reader.option { (r: inout ScaleReader) throws(ScaleError) in
            _ = try r.string()  // prefix
            _ = try r.vector { (r: inout ScaleReader) throws(ScaleError) in
                _ = try r.string()
                _ = try r.u8()  // modifier
                switch try r.u8() {
                case 0: _ = try r.compact()
                case 1:
                    _ = try r.vector { (r: inout ScaleReader) throws(ScaleError) in try r.u8() }
                    _ = try r.compact()
                    _ = try r.compact()
                case let tag: throw ScaleError("unknown storage entry type \(tag)")
                }
                _ = try r.bytesWithLength()  // default
                try TypeRegistry.skipDocs(&r)
            }
        }
        let calls = try reader.option { (r: inout ScaleReader) throws(ScaleError) in try r.typeID() }
        _ = try reader.option { (r: inout ScaleReader) throws(ScaleError) in try r.compact() }  // events
        _ = try reader.vector { (r: inout ScaleReader) throws(ScaleError) in  // constants
            _ = try r.string()
            _ = try r.compact()
            _ = try r.bytesWithLength()
            try TypeRegistry.skipDocs(&r)
        }
        _ = try reader.option { (r: inout ScaleReader) throws(ScaleError) in try r.compact() }  // errors
        let index = try reader.u8()
        try TypeRegistry.skipDocs(&reader)
        return Pallet(name: name, index: index, callType: calls)
    }

    /// A call's pallet and variant index and its parameters, looked up by name as bittensor does.
    public func call(pallet palletName: String, _ callName: String) throws(ScaleError) -> (pallet: UInt8, call: UInt8, fields: [TypeRegistry.Field]) {
        guard let pallet = pallets.first(where: { $0.name == palletName }) else {
            throw ScaleError("the runtime has no pallet \(palletName)")
        }
        guard let callType = pallet.callType, case .variant(let variants) = try registry.type(callType).definition,
              let variant = variants.first(where: { $0.name == callName }) else {
            throw ScaleError("the runtime has no call \(palletName).\(callName)")
        }
        return (pallet.index, variant.index, variant.fields)
    }

    public func apiMethod(_ name: String) throws(ScaleError) -> ApiMethod {
        guard let method = apiMethods[name] else { throw ScaleError("the runtime has no API method \(name)") }
        return method
    }
}
