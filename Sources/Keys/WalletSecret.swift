import Foundation

/// The secret half of a bittensor-wallet hotkey (`WALLETS/NAME/hotkeys/HOTKEY`), read only to
/// sign a chain transaction (`miners chain serve`, the supervisor's serve step); a worker never
/// reads it. The file is bittensor-wallet's JSON: `privateKey` (schnorrkel's 64-byte secret),
/// `publicKey`, `ss58Address`, and `secretSeed` for a hotkey made from a mnemonic.
public enum WalletSecret {
    public static func filePath(wallets: String, name: String, hotkey: String) -> String {
        String(WalletHotkey.publicFilePath(wallets: wallets, name: name, hotkey: hotkey).dropLast("pub.txt".count))
    }

    /// The hotkey's keypair, checked against the public key stored beside it. Errors name the
    /// file, never its contents.
    public static func keypair(wallets: String, name: String, hotkey: String) throws(WalletHotkey.Error) -> Sr25519.Keypair {
        let path = filePath(wallets: wallets, name: name, hotkey: hotkey)
        guard var data = FileManager.default.contents(atPath: path) else {
            throw WalletHotkey.Error(description: "cannot read the hotkey file \(path) (signing needs the hotkey's secret, not only its public file)")
        }
        defer { data.resetBytes(in: 0..<data.count) }
        if data.starts(with: Array("$NACL".utf8)) || data.starts(with: Array("$ANSIBLE_VAULT".utf8)) {
            throw WalletHotkey.Error(description: "the hotkey file \(path) is encrypted; decrypt it (btcli wallet regen-hotkey without a password) or use an unencrypted hotkey, as miners usually do")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let publicHex = object["publicKey"] as? String, let publicKey = Hex.decode(publicHex) else {
            throw WalletHotkey.Error(description: "\(path) is not a bittensor-wallet hotkey file (expected JSON with publicKey and privateKey)")
        }
        // A mnemonic-made hotkey carries its mini secret; a URI-derived one (//Alice) only the
        // expanded key. Either must give the stored public key.
        var candidates: [Sr25519.Keypair] = []
        if let seedHex = object["secretSeed"] as? String, var seed = Hex.decode(seedHex), seed.count == 32 {
            candidates.append(Sr25519.Keypair(miniSecret: seed))
            Sodium.wipe(&seed)
        }
        if let privateHex = object["privateKey"] as? String, var secret = Hex.decode(privateHex) {
            if let keypair = Sr25519.Keypair(secretKey: secret) { candidates.append(keypair) }
            Sodium.wipe(&secret)
        }
        guard let keypair = candidates.first(where: { $0.publicKey.bytes == publicKey }) else {
            throw WalletHotkey.Error(description: "\(path): neither secretSeed nor privateKey gives the file's publicKey; the file is damaged or not sr25519")
        }
        return keypair
    }
}
