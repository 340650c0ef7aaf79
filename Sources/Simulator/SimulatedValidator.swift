import Crypto
import Foundation
import Keys

/// A validator's hotkey for the simulator: a key made from a name, so the same validators sign
/// in every run (and a worker's blacklist can name them). Never a real wallet's key.
public struct SimulatedValidator: Sendable {
    public let keypair: Sr25519.Keypair
    public let hotkey: String

    public init(name: String) {
        keypair = Sr25519.Keypair(miniSecret: Array(SHA256.hash(data: Data("miners simulate: \(name)".utf8))))
        hotkey = SS58.encode(keypair.publicKey)
    }

    /// `count` validators named `validator-1` ... `validator-N`.
    public static func numbered(_ count: Int) -> [SimulatedValidator] {
        (1...max(count, 1)).map { SimulatedValidator(name: "validator-\($0)") }
    }

    public func sign(_ message: String) -> String {
        "0x" + Hex.encode(keypair.sign(Array(message.utf8)))
    }
}
