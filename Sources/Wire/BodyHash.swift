import Crypto

/// The `computed_body_hash` of a synapse whose `required_hash_fields` is `["messages"]`:
/// `sha3_256(sha3_256(str(messages)).hexdigest()).hexdigest()`, as bittensor 10.5.0 computes it.
public enum BodyHash {
    public static func of(messages: [PythonString]) -> String {
        let inner = hexDigest(Array(PythonRepr.list(messages).utf8))
        return hexDigest(Array(inner.utf8))
    }

    static func hexDigest(_ bytes: [UInt8]) -> String {
        let digest = SHA3_256.hash(data: bytes)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
