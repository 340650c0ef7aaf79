import Foundation
import Testing
@testable import Keys

/// The hotkey files bittensor-wallet 10.5.0 writes (these were made by
/// `Wallet.create_hotkey_from_uri("//Alice", use_password=False)`).
@Suite struct WalletSecretTests {
    static let alicePublic = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    static let alicePrivate = "0x33a6f3093f158a7109f679410bef1a0c54168145e0cecb4df006c1c2fffb1f09925a225d97aa00682d6a59b95b18780c10d7032336e88f3442b42361f4a66011"

    func wallet(_ hotkeyFile: String) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wallets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("w/hotkeys"), withIntermediateDirectories: true)
        try hotkeyFile.write(to: root.appendingPathComponent("w/hotkeys/h"), atomically: true, encoding: .utf8)
        return root.path
    }

    @Test func aURIDerivedHotkeySignsWithItsPrivateKey() throws {
        let path = try wallet(#"{"accountId":"\#(Self.alicePublic)","publicKey":"\#(Self.alicePublic)","privateKey":"\#(Self.alicePrivate)","ss58Address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","cryptoType":1}"#)
        let keypair = try WalletSecret.keypair(wallets: path, name: "w", hotkey: "h")
        #expect("0x" + Hex.encode(keypair.publicKey.bytes) == Self.alicePublic)
        let message = Array("serve_axon payload".utf8)
        #expect(Sr25519.verify(signature: keypair.sign(message), message: message, publicKey: keypair.publicKey))
    }

    @Test func aMnemonicHotkeySignsWithItsSeed() throws {
        let seed = [UInt8](repeating: 7, count: 32)
        let expected = Sr25519.Keypair(miniSecret: seed).publicKey.bytes
        let path = try wallet(#"{"publicKey":"0x\#(Hex.encode(expected))","secretSeed":"0x\#(Hex.encode(seed))","privateKey":"0x00"}"#)
        #expect(try WalletSecret.keypair(wallets: path, name: "w", hotkey: "h").publicKey.bytes == expected)
    }

    @Test func refusalsNameTheFileAndNeverTheSecret() throws {
        let encrypted = try wallet("$NACL\u{1}\u{2}garbage")
        #expect(throws: WalletHotkey.Error.self) { try WalletSecret.keypair(wallets: encrypted, name: "w", hotkey: "h") }
        let otherKey = String(Self.alicePublic.dropLast(2)) + "00"
        let mismatched = try wallet(#"{"publicKey":"\#(otherKey)","privateKey":"\#(Self.alicePrivate)"}"#)
        do {
            _ = try WalletSecret.keypair(wallets: mismatched, name: "w", hotkey: "h")
            Issue.record("a private key that does not give the public key was accepted")
        } catch {
            #expect(error.description.contains("\(mismatched)/w/hotkeys/h"))
            #expect(!error.description.contains(String(Self.alicePrivate.dropFirst(2).prefix(16))))
        }
        #expect(throws: WalletHotkey.Error.self) { try WalletSecret.keypair(wallets: "/nonexistent", name: "w", hotkey: "h") }
    }
}
