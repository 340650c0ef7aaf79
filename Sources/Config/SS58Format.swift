/// A shape check of an SS58 address (base58, 35 bytes, generic-substrate prefix 42). The
/// Blake2b checksum is verified by the crypto module.
enum SS58Format {
    private static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// Nil when the address has the right shape, otherwise what is wrong with it.
    static func problem(_ address: String) -> String? {
        var bytes: [UInt8] = []  // big-endian base-256 digits
        for character in address.utf8 {
            guard let digit = alphabet.firstIndex(of: character) else {
                return "'\(address)' is not an SS58 address: '\(Character(Unicode.Scalar(character)))' is not a base58 character"
            }
            var carry = digit
            for index in bytes.indices.reversed() {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.insert(UInt8(carry & 0xFF), at: 0)
                carry >>= 8
            }
        }
        let leadingZeros = address.utf8.prefix { $0 == alphabet[0] }.count
        bytes.insert(contentsOf: [UInt8](repeating: 0, count: leadingZeros), at: 0)
        guard bytes.count == 35 else {
            return "'\(address)' is not an SS58 account address (it decodes to \(bytes.count) bytes, expected 35)"
        }
        guard bytes[0] == 42 else {
            return "'\(address)' has SS58 network prefix \(bytes[0]); bittensor hotkeys use 42 (addresses starting with 5)"
        }
        return nil
    }
}
