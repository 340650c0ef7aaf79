import Testing
@testable import Chain
import Keys

@Suite struct ScaleTests {
    /// Compact encodings at every mode boundary, as parity-scale-codec writes them.
    static let compactCases: [(UInt128, String)] = [
        (0, "00"), (63, "fc"), (64, "0101"), (16383, "fdff"), (16384, "02000100"),
        ((1 << 30) - 1, "feffffff"), (1 << 30, "0300000040"), (UInt128(UInt32.max), "03ffffffff"),
        (1 << 32, "070000000001"), (UInt128(UInt64.max), "13ffffffffffffffff"),
        (UInt128.max, "33ffffffffffffffffffffffffffffffff"),
    ]

    @Test(arguments: compactCases)
    func compactBoundaries(value: UInt128, hex: String) throws {
        var writer = ScaleWriter()
        writer.compact(value)
        #expect(ChainHex.encode(writer.bytes) == "0x" + hex)
        var reader = ScaleReader(writer.bytes)
        #expect(try reader.compact() == value)
        #expect(reader.isAtEnd)
    }

    @Test func fixedIntegersAreLittleEndian() {
        var writer = ScaleWriter()
        writer.u16(0x0102)
        writer.u32(0x0304_0506)
        writer.u64(1)
        writer.u128(0xCB00_7107)
        #expect(ChainHex.encode(writer.bytes) == "0x0201" + "06050403" + "0100000000000000" + "077100cb000000000000000000000000")
    }

    @Test func longVectorsRoundTrip() throws {
        let items = (0..<70_000).map { UInt16(truncatingIfNeeded: $0 * 7) }
        var writer = ScaleWriter()
        writer.vector(items) { $0.u16($1) }
        #expect(Array(writer.bytes.prefix(4)) == [0xC2, 0x45, 0x04, 0x00])  // compact 70000, four-byte mode
        var reader = ScaleReader(writer.bytes)
        #expect(try reader.vector { (r: inout ScaleReader) throws(ScaleError) in try r.u16() } == items)
        #expect(reader.isAtEnd)
    }

    @Test func nestedOptionsKeepEveryLevel() throws {
        let cases: [UInt8??] = [nil, .some(nil), .some(.some(7))]
        for value in cases {
            var writer = ScaleWriter()
            writer.option(value) { outer, inner in outer.option(inner) { $0.u8($1) } }
            var reader = ScaleReader(writer.bytes)
            let decoded = try reader.option { (r: inout ScaleReader) throws(ScaleError) in
                try r.option { (r: inout ScaleReader) throws(ScaleError) in try r.u8() }
            }
            #expect(decoded == value)
            #expect(reader.isAtEnd)
        }
    }

    @Test func truncatedAndHostileInputIsRefused() {
        var short = ScaleReader([0x01, 0x02])
        #expect(throws: ScaleError.self) { try short.u32() }
        // A length of 2^30 with four bytes behind it must not allocate.
        var hostile = ScaleReader([0x03, 0x00, 0x00, 0x00, 0x40, 1, 2, 3, 4])
        #expect(throws: ScaleError.self) { try hostile.bytesWithLength() }
        var badBool = ScaleReader([2])
        #expect(throws: ScaleError.self) { try badBool.bool() }
        var badOption = ScaleReader([9])
        #expect(throws: ScaleError.self) { try badOption.option { (r: inout ScaleReader) throws(ScaleError) in try r.u8() } }
        var wide = ScaleReader([0xFF] + [UInt8](repeating: 1, count: 67))
        #expect(throws: ScaleError.self) { try wide.compact() }
    }

    @Test func twox128MatchesSubstratePrefixes() {
        #expect(ChainHex.encode(StorageKey.twox128(Array("System".utf8))) == "0x26aa394eea5630e07c48ae0c9558cef7")
        #expect(ChainHex.encode(StorageKey.twox128(Array("SubtensorModule".utf8))) == "0x658faa385070e074c85bf6b568cf0555")
        #expect(ChainHex.encode(StorageKey.twox128(Array("Uids".utf8))) == "0xaab1b4e78e1ea8305462ee53b3686dc8")
        #expect(ChainHex.encode(StorageKey.twox128(Array("Axons".utf8))) == "0xb4e0c7b1d5f74994fcd58c28ab601fec")
        // Inputs of 32 bytes and more take xxHash64's four-lane path.
        #expect(ChainHex.encode(StorageKey.twox128(Array("ServingRateLimit".utf8))) == "0x1fbba053865c94fcc1b417b41cc9e63a")
        #expect(XXHash64.hash(Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8), seed: 0) == 0x64f2_3ecf_1609_b766)
    }

    /// CHAIN.md §2.4: the Uids key of //Alice on netuid 1, as seen in the replay.
    @Test func uidsKeyOfAlice() {
        let alice = Hex.decode("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")!
        let key = ChainHex.encode(StorageKey.uids(netuid: 1, hotkey: alice))
        #expect(key.hasPrefix("0x658faa385070e074c85bf6b568cf0555aab1b4e78e1ea8305462ee53b3686dc80100de1e86a9"))
        #expect(key.hasSuffix("a59fd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"))
    }
}
