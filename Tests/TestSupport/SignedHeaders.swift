import Foundation
import Keys

/// Request headers signed as a bittensor dendrite signs them, for tests.
public struct TestValidator: Sendable {
    public let keypair: Sr25519.Keypair
    public var hotkey: String { SS58.encode(keypair.publicKey) }

    public init(seed: UInt8 = 0xD0) {
        keypair = Sr25519.Keypair(miniSecret: [UInt8](repeating: seed, count: 32))
    }

    /// `bt_header_dendrite_{hotkey,nonce,uuid,signature}` and `computed_body_hash` for a request
    /// to the miner with `axonHotkey`.
    public func headers(
        axonHotkey: String, bodyHash: String, uuid: String = "test-uuid",
        nonce: Int64 = Int64(Date().timeIntervalSince1970 * 1e9)
    ) -> [(String, String)] {
        let message = "\(nonce).\(hotkey).\(axonHotkey).\(uuid).\(bodyHash)"
        return [
            ("bt_header_dendrite_hotkey", hotkey),
            ("bt_header_dendrite_nonce", String(nonce)),
            ("bt_header_dendrite_uuid", uuid),
            ("bt_header_dendrite_signature", "0x" + Hex.encode(keypair.sign(Array(message.utf8)))),
            ("computed_body_hash", bodyHash),
        ]
    }
}
