import Keys

/// Storage keys of FRAME maps: `twox128(pallet) ‖ twox128(item) ‖ hashed keys`. Only the
/// hashers subtensor uses for the items read here: Identity and Blake2_128Concat.
public enum StorageKey {
    public static func plain(pallet: String, item: String) -> [UInt8] {
        twox128(Array(pallet.utf8)) + twox128(Array(item.utf8))
    }

    public static func identity(_ key: [UInt8]) -> [UInt8] { key }

    public static func blake2_128Concat(_ key: [UInt8]) -> [UInt8] { Blake2b.hash(key, length: 16) + key }

    /// `SubtensorModule.Axons(netuid, hotkey)`: the hotkey's served `AxonInfo`.
    public static func axons(netuid: UInt16, hotkey: [UInt8]) -> [UInt8] {
        plain(pallet: "SubtensorModule", item: "Axons") + identity(littleEndian(netuid)) + blake2_128Concat(hotkey)
    }

    /// `SubtensorModule.Uids(netuid, hotkey)`: present when the hotkey is registered.
    public static func uids(netuid: UInt16, hotkey: [UInt8]) -> [UInt8] {
        plain(pallet: "SubtensorModule", item: "Uids") + identity(littleEndian(netuid)) + blake2_128Concat(hotkey)
    }

    /// `SubtensorModule.ServingRateLimit(netuid)`: blocks between two serves of one hotkey.
    public static func servingRateLimit(netuid: UInt16) -> [UInt8] {
        plain(pallet: "SubtensorModule", item: "ServingRateLimit") + identity(littleEndian(netuid))
    }

    static func littleEndian(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    /// Substrate's `twox_128`: xxHash64 with seeds 0 and 1, each little-endian.
    public static func twox128(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for seed: UInt64 in [0, 1] {
            let hash = XXHash64.hash(data, seed: seed)
            for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: hash >> (8 * index))) }
        }
        return out
    }
}

/// xxHash64 (Yann Collet's specification), for `twox128` storage prefixes. No Swift package on
/// the mirror provides it; the tests check it against substrate's known prefixes.
enum XXHash64 {
    static let p1: UInt64 = 11_400_714_785_074_694_791
    static let p2: UInt64 = 14_029_467_366_897_019_727
    static let p3: UInt64 = 1_609_587_929_392_839_161
    static let p4: UInt64 = 9_650_029_242_287_828_579
    static let p5: UInt64 = 2_870_177_450_012_600_261

    static func hash(_ data: [UInt8], seed: UInt64) -> UInt64 {
        func word(_ at: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(data[at + index]) << (8 * index) }
            return value
        }
        func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
            (acc &+ input &* p2).rotatedLeft(31) &* p1
        }
        func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
            (acc ^ round(0, value)) &* p1 &+ p4
        }
        var offset = 0
        var h: UInt64
        if data.count >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while offset + 32 <= data.count {
                v1 = round(v1, word(offset)); v2 = round(v2, word(offset + 8))
                v3 = round(v3, word(offset + 16)); v4 = round(v4, word(offset + 24))
                offset += 32
            }
            h = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
            h = merge(merge(merge(merge(h, v1), v2), v3), v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(data.count)
        while offset + 8 <= data.count {
            h ^= round(0, word(offset))
            h = h.rotatedLeft(27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= data.count {
            var value: UInt64 = 0
            for index in 0..<4 { value |= UInt64(data[offset + index]) << (8 * index) }
            h ^= value &* p1
            h = h.rotatedLeft(23) &* p2 &+ p3
            offset += 4
        }
        while offset < data.count {
            h ^= UInt64(data[offset]) &* p5
            h = h.rotatedLeft(11) &* p1
            offset += 1
        }
        h ^= h >> 33
        h = h &* p2
        h ^= h >> 29
        h = h &* p3
        h ^= h >> 32
        return h
    }
}

extension UInt64 {
    func rotatedLeft(_ count: UInt64) -> UInt64 { self << count | self >> (64 - count) }
}
