import Foundation

/// Substrate's use of BIP-39 mnemonics: the *entropy* (not BIP-39's seed) goes through
/// PBKDF2-HMAC-SHA512 with salt `"mnemonic" + password`, 2048 rounds; the first 32 bytes are
/// the sr25519 mini secret key.
public enum SubstrateBIP39 {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case wordCount(Int)
        case unknownWord(String)
        case badChecksum

        public var description: String {
            switch self {
            case .wordCount(let count): "a mnemonic has 12, 15, 18, 21 or 24 words, not \(count)"
            case .unknownWord(let word): "'\(word)' is not a BIP-39 English word"
            case .badChecksum: "the mnemonic's checksum does not match (a wrong or misspelt word?)"
            }
        }
    }

    static let words: [String] = {
        let url = Bundle.module.url(forResource: "bip39-english", withExtension: "txt")!
        return try! String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }()

    /// The BIP-39 entropy of a mnemonic, its checksum verified.
    public static func entropy(mnemonic: String) throws(Error) -> [UInt8] {
        let phrase = mnemonic.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
        guard [12, 15, 18, 21, 24].contains(phrase.count) else { throw .wordCount(phrase.count) }
        var bits: [Bool] = []
        for word in phrase {
            guard let index = words.firstIndex(of: word) else { throw .unknownWord(word) }
            for bit in (0..<11).reversed() { bits.append(index >> bit & 1 == 1) }
        }
        let checksumBits = bits.count / 33
        let entropyBits = bits.count - checksumBits
        var entropy = [UInt8](repeating: 0, count: entropyBits / 8)
        for (index, bit) in bits[0..<entropyBits].enumerated() where bit { entropy[index / 8] |= 0x80 >> UInt8(index % 8) }
        let hash = Sodium.sha256(entropy)
        for index in 0..<checksumBits where bits[entropyBits + index] != (hash[index / 8] & (0x80 >> UInt8(index % 8)) != 0) {
            throw .badChecksum
        }
        return entropy
    }

    public static func miniSecret(mnemonic: String, password: String = "") throws(Error) -> [UInt8] {
        var entropy = try entropy(mnemonic: mnemonic)
        defer { Sodium.wipe(&entropy) }
        return pbkdf2SHA512FirstBlock(password: entropy, salt: Array("mnemonic\(password)".utf8), rounds: 2048)[0..<32].map { $0 }
    }

    /// PBKDF2 (RFC 8018) with HMAC-SHA512, block 1: 64 bytes, more than the 32 needed.
    static func pbkdf2SHA512FirstBlock(password: [UInt8], salt: [UInt8], rounds: Int) -> [UInt8] {
        var u = Sodium.hmacSHA512(key: password, salt + [0, 0, 0, 1])
        var result = u
        for _ in 1..<rounds {
            u = Sodium.hmacSHA512(key: password, u)
            for index in result.indices { result[index] ^= u[index] }
        }
        return result
    }
}
