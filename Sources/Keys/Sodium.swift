import CSodium

/// libsodium's Ristretto255 group and scalar arithmetic, Blake2b and SHA-512, wrapped for
/// byte arrays. `sodium_init` picks the fastest implementations once.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    static func isValidPoint(_ point: [UInt8]) -> Bool {
        _ = ready
        return point.count == 32 && crypto_core_ristretto255_is_valid_point(point) == 1
    }

    /// `scalar · B`; nil for the identity (a zero scalar).
    static func multiplyBase(_ scalar: [UInt8]) -> [UInt8]? {
        _ = ready
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_scalarmult_ristretto255_base(&out, scalar) == 0 ? out : nil
    }

    /// `scalar · point`; nil for an invalid point or the identity.
    static func multiply(_ scalar: [UInt8], _ point: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_scalarmult_ristretto255(&out, scalar, point) == 0 ? out : nil
    }

    static func subtract(_ p: [UInt8], _ q: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_core_ristretto255_sub(&out, p, q) == 0 ? out : nil
    }

    /// A 64-byte number reduced modulo the group order ℓ.
    static func reduce(_ wide: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_reduce(&out, wide)
        return out
    }

    /// Whether 32 bytes are a scalar below ℓ (schnorrkel refuses non-canonical `s`).
    static func isCanonicalScalar(_ scalar: [UInt8]) -> Bool {
        scalar.count == 32 && reduce(scalar + [UInt8](repeating: 0, count: 32)) == scalar
    }

    static func multiplyAdd(_ a: [UInt8], _ b: [UInt8], _ c: [UInt8]) -> [UInt8] {
        var product = [UInt8](repeating: 0, count: 32), sum = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_scalar_mul(&product, a, b)
        crypto_core_ristretto255_scalar_add(&sum, product, c)
        return sum
    }

    static func blake2b512(_ data: [UInt8]) -> [UInt8] { Blake2b.hash(data, length: 64) }

    static func sha512(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        crypto_hash_sha512(&out, data, UInt64(data.count))
        return out
    }

    static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256(&out, data, UInt64(data.count))
        return out
    }

    static func hmacSHA512(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var state = crypto_auth_hmacsha512_state()
        var out = [UInt8](repeating: 0, count: 64)
        crypto_auth_hmacsha512_init(&state, key, key.count)
        crypto_auth_hmacsha512_update(&state, data, UInt64(data.count))
        crypto_auth_hmacsha512_final(&state, &out)
        return out
    }

    static func random(_ count: Int) -> [UInt8] {
        _ = ready
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// Overwrites secret bytes before they are released.
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }
}

/// Blake2b with a chosen output length: substrate hashes with 16 (storage keys) and 32 bytes
/// (extrinsic hashes, long signing payloads).
public enum Blake2b {
    public static func hash(_ data: [UInt8], length: Int) -> [UInt8] {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: length)
        crypto_generichash(&out, length, data, UInt64(data.count), nil, 0)
        return out
    }
}
