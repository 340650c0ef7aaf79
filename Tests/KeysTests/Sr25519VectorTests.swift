import Foundation
import TestSupport
import Testing
@testable import Keys

/// The vectors made by the real bittensor-wallet (Tests/Fixtures/sr25519-vectors.json).
@Suite struct Sr25519VectorTests {
    nonisolated(unsafe) static let vectors: [String: Any] = {
        let data = try! Data(contentsOf: Fixtures.directory.appendingPathComponent("sr25519-vectors.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static var cases: [[String: Any]] { vectors["cases"] as! [[String: Any]] }
    static var negativeCases: [[String: Any]] { vectors["negative_cases"] as! [[String: Any]] }

    func bytes(_ value: Any?) -> [UInt8] { Hex.decode(value as! String)! }

    @Test func everyCaseVerifiesAndItsAddressRoundTrips() throws {
        #expect(Self.cases.count == 10)
        for vector in Self.cases {
            let id = vector["id"] as! String
            let key = try #require(Sr25519.PublicKey(bytes: bytes(vector["public_key_hex"])), "\(id)")
            #expect(SS58.encode(key) == vector["ss58_address"] as! String, "\(id)")
            #expect(try SS58.decode(vector["ss58_address"] as! String) == key, "\(id)")
            #expect(Hex.encode(SS58.checksum([42] + key.bytes)) == vector["ss58_checksum_hex"] as! String, "\(id)")
            let message = Array((vector["message"] as! String).utf8)
            #expect(Sr25519.verify(signature: bytes(vector["signature_hex"]), message: message, publicKey: key) == (vector["verify"] as! Bool), "\(id)")
        }
    }

    @Test func mnemonicsAndSeedsGiveThePublicKeys() throws {
        for vector in Self.cases {
            let id = vector["id"] as! String
            if let mnemonic = vector["mnemonic"] as? String {
                #expect(try SubstrateBIP39.entropy(mnemonic: mnemonic) == bytes(vector["bip39_entropy_hex"]), "\(id)")
                #expect(try SubstrateBIP39.miniSecret(mnemonic: mnemonic) == bytes(vector["mini_secret_seed_hex"]), "\(id)")
            }
            guard let seed = vector["mini_secret_seed_hex"] as? String else { continue }
            let keypair = Sr25519.Keypair(miniSecret: Hex.decode(seed)!)
            #expect(keypair.publicKey.bytes == bytes(vector["public_key_hex"]), "\(id)")
        }
    }

    @Test func everyNegativeCaseIsRejected() throws {
        #expect(Self.negativeCases.count == 18)
        for vector in Self.negativeCases {
            let key = try #require(Sr25519.PublicKey(bytes: bytes(vector["public_key_hex"])))
            let verified = Sr25519.verifyAsBittensor(
                signature: bytes(vector["signature_hex"]), message: Array((vector["message"] as! String).utf8), publicKey: key
            )
            #expect(verified == (vector["verify"] as! Bool), "\(vector["id"]!)")
        }
    }

    @Test func theCapturedRequestSignatureVerifies() throws {
        let capture = Self.vectors["capture_example"] as! [String: Any]
        let headers = capture["headers_used"] as! [String: String]
        let key = try SS58.decode(headers["bt_header_dendrite_hotkey"]!)
        #expect(key.bytes == bytes(capture["dendrite_public_key_hex"]))
        let message = Array((capture["signed_message"] as! String).utf8)
        #expect(Sr25519.verify(signature: bytes(headers["bt_header_dendrite_signature"]), message: message, publicKey: key))
    }

    @Test func theBytesWrapperIsAcceptedAsBittensorDoes() throws {
        let quirk = (Self.vectors["bittensor_wallet_quirks"] as! [String: Any])["bytes_wrapper_accepted"] as! [String: Any]
        let key = try SS58.decode(quirk["ss58_address"] as! String)
        let signature = bytes(quirk["signature_hex"])
        let message = Array((quirk["message"] as! String).utf8)
        #expect(!Sr25519.verify(signature: signature, message: message, publicKey: key))
        #expect(Sr25519.verifyAsBittensor(signature: signature, message: message, publicKey: key))
    }
}

@Suite struct Sr25519Tests {
    let keypair = Sr25519.Keypair(miniSecret: Array(repeating: 7, count: 32))

    @Test func signThenVerify() {
        let message = Array("1795552238487687740.5Hh2.5E1s.uuid.hash".utf8)
        let signature = keypair.sign(message)
        #expect(signature.count == 64)
        #expect(signature[63] & 0x80 != 0)
        #expect(Sr25519.verify(signature: signature, message: message, publicKey: keypair.publicKey))
        #expect(keypair.sign(message) != signature, "signatures are randomised")
        #expect(!Sr25519.verify(signature: signature, message: message + [0x2E], publicKey: keypair.publicKey))
        let other = Sr25519.Keypair(miniSecret: Array(repeating: 8, count: 32))
        #expect(!Sr25519.verify(signature: signature, message: message, publicKey: other.publicKey))
    }

    @Test func malformedSignaturesAreRejected() {
        let message = Array("m".utf8)
        var signature = keypair.sign(message)
        var unmarked = signature
        unmarked[63] &= 0x7F
        #expect(!Sr25519.verify(signature: unmarked, message: message, publicKey: keypair.publicKey))
        #expect(!Sr25519.verify(signature: Array(signature.prefix(63)), message: message, publicKey: keypair.publicKey))
        signature.replaceSubrange(32..<64, with: [UInt8](repeating: 0xFF, count: 32))  // s ≥ ℓ
        #expect(!Sr25519.verify(signature: signature, message: message, publicKey: keypair.publicKey))
    }

    @Test func addressesAreCheckedThoroughly() {
        let address = SS58.encode(keypair.publicKey)
        #expect(throws: SS58.Error.badChecksum) { try SS58.decode(String(address.dropLast()) + (address.last == "a" ? "b" : "a")) }
        #expect(throws: SS58.Error.notBase58("0")) { try SS58.decode("5" + String(address.dropFirst().dropLast()) + "0") }
        #expect(throws: SS58.Error.wrongLength(4)) { try SS58.decode("5Grwva") }
    }

    @Test func mnemonicErrorsSayWhatIsWrong() {
        #expect(throws: SubstrateBIP39.Error.wordCount(3)) { try SubstrateBIP39.entropy(mnemonic: "legal winner thank") }
        #expect(throws: SubstrateBIP39.Error.unknownWord("winer")) {
            try SubstrateBIP39.entropy(mnemonic: "legal winer thank year wave sausage worth useful legal winner thank yellow")
        }
        #expect(throws: SubstrateBIP39.Error.badChecksum) {
            try SubstrateBIP39.entropy(mnemonic: "legal winner thank year wave sausage worth useful legal winner thank thank")
        }
    }

    @Test func merlinMatchesTheMerlinCratesTestVector() {
        // merlin 3.0's `equivalence_simple`: challenge after one message.
        var transcript = MerlinTranscript(label: "test protocol")
        transcript.append(label: "some label", message: Array("some data".utf8))
        #expect(Hex.encode(transcript.challengeBytes(label: "challenge", count: 32))
            == "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615")
    }
}

/// Vectors of our own, made with the real bittensor-wallet by scripts/generate_sr25519_vectors.py.
@Suite struct ExtraVectorTests {
    @Test func bittensorWalletKeysAndSignaturesAgree() throws {
        let data = try Data(contentsOf: Fixtures.directory.appendingPathComponent("sr25519-extra-vectors.json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = root["cases"] as! [[String: String]]
        #expect(cases.count == 18)
        for vector in cases {
            let key = try SS58.decode(vector["ss58_address"]!)
            #expect(key.bytes == Hex.decode(vector["public_key_hex"]!))
            #expect(SS58.encode(key) == vector["ss58_address"])
            let message = Hex.decode(vector["message_utf8_hex"]!)!
            #expect(Sr25519.verify(signature: Hex.decode(vector["signature_hex"]!)!, message: message, publicKey: key))
            if let mnemonic = vector["mnemonic"] {
                #expect(Sr25519.Keypair(miniSecret: try SubstrateBIP39.miniSecret(mnemonic: mnemonic)).publicKey == key, "\(mnemonic)")
            }
        }
    }
}
