import Foundation

/// The public half of a bittensor-wallet hotkey: `WALLETS/NAME/hotkeys/HOTKEYpub.txt`, which
/// bittensor-wallet writes beside the hotkey file (`{"publicKey": "0x…", "ss58Address": "5…",
/// "accountId": …, "cryptoType": 1}`). Only this file is read: the hotkey file itself holds
/// the private key and the mnemonic, which a miner's worker never needs.
public enum WalletHotkey {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    public static func publicFilePath(wallets: String, name: String, hotkey: String) -> String {
        let root = wallets.hasPrefix("~") ? NSString(string: wallets).expandingTildeInPath : wallets
        return "\(root)/\(name)/hotkeys/\(hotkey)pub.txt"
    }

    /// The hotkey's SS58 address, checked against its public key.
    public static func address(wallets: String, name: String, hotkey: String) throws(Error) -> String {
        let path = publicFilePath(wallets: wallets, name: name, hotkey: hotkey)
        guard let data = FileManager.default.contents(atPath: path) else {
            let hotkeyFile = WalletSecret.filePath(wallets: wallets, name: name, hotkey: hotkey)
            let hint = FileManager.default.fileExists(atPath: hotkeyFile)
                ? " (the hotkey file exists but not its public file; regenerate the hotkey with a current bittensor-wallet, which writes both)"
                : ""
            throw Error(description: "cannot read the wallet's public hotkey file \(path)\(hint)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let address = object["ss58Address"] as? String, let publicHex = object["publicKey"] as? String else {
            throw Error(description: "\(path) is not a bittensor-wallet public hotkey file (expected JSON with ss58Address and publicKey)")
        }
        let key: Sr25519.PublicKey
        do {
            key = try SS58.decode(address)
        } catch {
            throw Error(description: "\(path): ss58Address '\(address)' is not valid: \(error)")
        }
        guard Hex.decode(publicHex) == key.bytes else {
            throw Error(description: "\(path): publicKey does not match ss58Address")
        }
        return address
    }
}

/// `0x`-prefixed (or bare) hexadecimal.
public enum Hex {
    public static func decode(_ text: String) -> [UInt8]? {
        var digits = Array(text.utf8)
        if digits.count >= 2, digits[0] == UInt8(ascii: "0"), digits[1] | 0x20 == UInt8(ascii: "x") { digits.removeFirst(2) }
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
