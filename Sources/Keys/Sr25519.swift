/// sr25519 as schnorrkel 0.11 and bittensor-wallet do it: Schnorr signatures over Ristretto255
/// with Merlin transcripts, signing context `substrate`.
public enum Sr25519 {
    /// A 32-byte public key, a valid Ristretto255 point.
    public struct PublicKey: Hashable, Sendable {
        public let bytes: [UInt8]

        public init?(bytes: [UInt8]) {
            guard Sodium.isValidPoint(bytes) else { return nil }
            self.bytes = bytes
        }
    }

    /// Verifies a 64-byte signature over `message` exactly as schnorrkel does: the signature's
    /// marker bit, a canonical `s`, and `s·B − k·A == R` for the transcript challenge `k`.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: PublicKey) -> Bool {
        guard signature.count == 64, signature[63] & 0x80 != 0 else { return false }
        let commitment = Array(signature[0..<32])
        var s = Array(signature[32..<64])
        s[31] &= 0x7F
        guard Sodium.isCanonicalScalar(s) else { return false }
        var transcript = signingTranscript(message)
        transcript.append(label: "proto-name", message: Array("Schnorr-sig".utf8))
        transcript.append(label: "sign:pk", message: publicKey.bytes)
        transcript.append(label: "sign:R", message: commitment)
        let k = Sodium.reduce(transcript.challengeBytes(label: "sign:c", count: 64))
        guard let sB = Sodium.multiplyBase(s), let kA = Sodium.multiply(k, publicKey.bytes),
              let expected = Sodium.subtract(sB, kA) else { return false }
        return expected == commitment
    }

    /// bittensor-wallet's `Keypair.verify`: also accepts a signature over `<Bytes>message</Bytes>`.
    public static func verifyAsBittensor(signature: [UInt8], message: [UInt8], publicKey: PublicKey) -> Bool {
        verify(signature: signature, message: message, publicKey: publicKey)
            || verify(signature: signature, message: Array("<Bytes>".utf8) + message + Array("</Bytes>".utf8), publicKey: publicKey)
    }

    /// `signing_context(b"substrate").bytes(message)`.
    static func signingTranscript(_ message: [UInt8]) -> MerlinTranscript {
        var transcript = MerlinTranscript(label: "SigningContext")
        transcript.append(label: "", message: Array("substrate".utf8))
        transcript.append(label: "sign-bytes", message: message)
        return transcript
    }

    /// A signing key: schnorrkel's expanded secret (scalar and nonce) and its public key.
    /// For tests and the validator simulator; workers never hold one.
    public struct Keypair: Sendable {
        let scalar: [UInt8]
        let nonce: [UInt8]
        public let publicKey: PublicKey

        /// schnorrkel `MiniSecretKey::expand_to_keypair(ExpandEd25519)`.
        public init(miniSecret: [UInt8]) {
            precondition(miniSecret.count == 32, "a mini secret key has 32 bytes")
            var hash = Sodium.sha512(miniSecret)
            var key = Array(hash[0..<32])
            key[0] &= 248
            key[31] &= 63
            key[31] |= 64
            // Divide by the cofactor 8: schnorrkel keeps Ed25519's clamping but works in Ristretto.
            var low: UInt8 = 0
            for index in stride(from: 31, through: 0, by: -1) {
                let carry = key[index] & 0b111
                key[index] = key[index] >> 3 | low
                low = carry << 5
            }
            scalar = key
            nonce = Array(hash[32..<64])
            Sodium.wipe(&hash)
            publicKey = PublicKey(bytes: Sodium.multiplyBase(scalar)!)!
        }

        /// schnorrkel `SecretKey::from_bytes`: the 32-byte scalar then the 32-byte nonce, as
        /// bittensor-wallet stores `privateKey`. Nil when the scalar is not canonical.
        public init?(secretKey: [UInt8]) {
            guard secretKey.count == 64 else { return nil }
            let scalar = Array(secretKey[0..<32])
            guard Sodium.isCanonicalScalar(scalar), let point = Sodium.multiplyBase(scalar),
                  let publicKey = PublicKey(bytes: point) else { return nil }
            self.scalar = scalar
            self.nonce = Array(secretKey[32..<64])
            self.publicKey = publicKey
        }

        /// A randomised signature (as schnorrkel's): the witness mixes the secret nonce, fresh
        /// randomness and the transcript.
        public func sign(_ message: [UInt8]) -> [UInt8] {
            var transcript = Sr25519.signingTranscript(message)
            transcript.append(label: "proto-name", message: Array("Schnorr-sig".utf8))
            transcript.append(label: "sign:pk", message: publicKey.bytes)
            var witnessTranscript = transcript
            witnessTranscript.append(label: "signing", message: nonce)
            witnessTranscript.append(label: "rng", message: Sodium.random(32))
            let r = Sodium.reduce(witnessTranscript.challengeBytes(label: "witness", count: 64))
            let commitment = Sodium.multiplyBase(r)!
            transcript.append(label: "sign:R", message: commitment)
            let k = Sodium.reduce(transcript.challengeBytes(label: "sign:c", count: 64))
            var s = Sodium.multiplyAdd(k, scalar, r)
            s[31] |= 0x80
            return commitment + s
        }
    }
}
