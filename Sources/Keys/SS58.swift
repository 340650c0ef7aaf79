/// SS58 addresses (format 42, generic Substrate): `base58(0x2a ‖ pubkey ‖ checksum)`, the
/// checksum being the first two bytes of `blake2b-512("SS58PRE" ‖ 0x2a ‖ pubkey)`.
public enum SS58 {
    public static let genericSubstrate: UInt8 = 42
    private static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case notBase58(Character)
        case wrongLength(Int)
        case wrongFormat(UInt8)
        case badChecksum
        case notAPoint

        public var description: String {
            switch self {
            case .notBase58(let character): "'\(character)' is not a base58 character"
            case .wrongLength(let count): "it decodes to \(count) bytes; an account address has 35"
            case .wrongFormat(let format): "its network prefix is \(format); bittensor uses 42 (addresses starting with 5)"
            case .badChecksum: "its checksum does not match (a mistyped character?)"
            case .notAPoint: "it does not hold a valid sr25519 public key"
            }
        }
    }

    public static func encode(_ publicKey: Sr25519.PublicKey) -> String { encode(accountID: publicKey.bytes) }

    /// Any 32-byte account id, as the chain stores it (a coldkey need not be an sr25519 point).
    public static func encode(accountID: [UInt8]) -> String {
        let payload = [genericSubstrate] + accountID
        return base58(payload + checksum(payload))
    }

    public static func decode(_ address: String) throws(Error) -> Sr25519.PublicKey {
        let bytes = try base58Decode(address)
        guard bytes.count == 35 else { throw .wrongLength(bytes.count) }
        guard bytes[0] == genericSubstrate else { throw .wrongFormat(bytes[0]) }
        guard checksum(Array(bytes[0..<33])) == Array(bytes[33..<35]) else { throw .badChecksum }
        guard let key = Sr25519.PublicKey(bytes: Array(bytes[1..<33])) else { throw .notAPoint }
        return key
    }

    static func checksum(_ payload: [UInt8]) -> [UInt8] {
        Array(Sodium.blake2b512(Array("SS58PRE".utf8) + payload)[0..<2])
    }

    static func base58(_ bytes: [UInt8]) -> String {
        var digits: [UInt8] = []  // base-58 digits, least significant first
        for byte in bytes {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        let zeros = bytes.prefix { $0 == 0 }.count
        return String(decoding: [UInt8](repeating: alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] }, as: UTF8.self)
    }

    static func base58Decode(_ text: String) throws(Error) -> [UInt8] {
        var bytes: [UInt8] = []  // least significant first
        for character in text.utf8 {
            guard let digit = alphabet.firstIndex(of: character) else { throw .notBase58(Character(Unicode.Scalar(character))) }
            var carry = digit
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        let zeros = text.utf8.prefix { $0 == alphabet[0] }.count
        return [UInt8](repeating: 0, count: zeros) + bytes.reversed()
    }
}
