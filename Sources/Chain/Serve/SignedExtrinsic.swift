import Keys

/// A signed extrinsic, format v4, built from the runtime's own list of transaction extensions:
/// each extension's explicit part goes into the extrinsic and its implicit part into the
/// signing payload, in the metadata's order. An extension this client cannot fill (not zero
/// sized and not one of the known ones) stops the signing: guessing would produce a
/// transaction the chain rejects, or one that means something else.
public struct SignedExtrinsic: Sendable {
    public struct Context: Sendable {
        public var specVersion: UInt32
        public var transactionVersion: UInt32
        public var genesisHash: [UInt8]
        public var era: Era
        /// The hash of the era's birth block (ignored for an immortal era).
        public var birthHash: [UInt8]
        public var nonce: UInt32
        public var tip: UInt64 = 0

        public init(specVersion: UInt32, transactionVersion: UInt32, genesisHash: [UInt8], era: Era, birthHash: [UInt8], nonce: UInt32) {
            self.specVersion = specVersion
            self.transactionVersion = transactionVersion
            self.genesisHash = genesisHash
            self.era = era
            self.birthHash = birthHash
            self.nonce = nonce
        }
    }

    /// The transaction versions whose extrinsic layout this client was checked against.
    public static let knownTransactionVersions: Set<UInt32> = [1]

    public let call: [UInt8]
    public let explicit: [UInt8]
    public let implicit: [UInt8]

    /// Lays out the extensions; throws when the runtime asks for something unknown.
    public init(call: [UInt8], context: Context, metadata: RuntimeMetadata) throws {
        guard metadata.extrinsicVersion == 4 else {
            throw ChainFailure("the runtime uses extrinsic format v\(metadata.extrinsicVersion); this client signs v4 only. Refusing to sign.")
        }
        guard Self.knownTransactionVersions.contains(context.transactionVersion) else {
            throw ChainFailure("the runtime's transaction version is \(context.transactionVersion); this client knows \(Self.knownTransactionVersions.sorted()). Call or extension layouts may have changed: refusing to sign. Update miners.")
        }
        var explicit = ScaleWriter(), implicit = ScaleWriter()
        for extensionInfo in metadata.extensions {
            switch extensionInfo.identifier {
            case "CheckSpecVersion": implicit.u32(context.specVersion)
            case "CheckTxVersion": implicit.u32(context.transactionVersion)
            case "CheckGenesis": implicit.append(context.genesisHash)
            case "CheckMortality", "CheckEra":
                explicit.append(context.era.encoded)
                implicit.append(context.era.birth == nil ? context.genesisHash : context.birthHash)
            case "CheckNonce": explicit.compact(UInt128(context.nonce))
            case "ChargeTransactionPayment": explicit.compact(UInt128(context.tip))
            case "CheckMetadataHash":
                explicit.u8(0)  // mode: disabled
                implicit.u8(0)  // no metadata hash
            default:
                let sizes = (try metadata.registry.fixedSize(extensionInfo.type), try metadata.registry.fixedSize(extensionInfo.implicitType))
                guard sizes == (0, 0) else {
                    throw ChainFailure("the runtime has a transaction extension '\(extensionInfo.identifier)' that carries data this client does not know how to fill; refusing to sign. Update miners.")
                }
            }
        }
        self.call = call
        self.explicit = explicit.bytes
        self.implicit = implicit.bytes
    }

    /// What the hotkey signs: the call, the explicit and the implicit parts; hashed with
    /// blake2b-256 first when longer than 256 bytes.
    public var signingPayload: [UInt8] { call + explicit + implicit }

    public static func bytesToSign(_ payload: [UInt8]) -> [UInt8] {
        payload.count > 256 ? Blake2b.hash(payload, length: 32) : payload
    }

    /// The extrinsic with its compact length prefix: `0x84`, `MultiAddress::Id(signer)`,
    /// `MultiSignature::Sr25519(signature)`, the explicit extension data, the call.
    public func encoded(signer: [UInt8], signature: [UInt8]) -> [UInt8] {
        var body = ScaleWriter()
        body.u8(0x84)
        body.u8(0)
        body.append(signer)
        body.u8(1)
        body.append(signature)
        body.append(explicit)
        body.append(call)
        var framed = ScaleWriter()
        framed.bytesWithLength(body.bytes)
        return framed.bytes
    }

    public func signed(by keypair: Sr25519.Keypair) -> [UInt8] {
        encoded(signer: keypair.publicKey.bytes, signature: keypair.sign(Self.bytesToSign(signingPayload)))
    }

    /// The extrinsic's hash, as the node and block explorers show it.
    public static func hash(_ extrinsic: [UInt8]) -> [UInt8] { Blake2b.hash(extrinsic, length: 32) }
}
