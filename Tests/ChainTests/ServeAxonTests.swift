import Config
import Foundation
import Keys
import Testing
@testable import Chain

/// CHAIN.md's worked example: //Alice serves 203.0.113.7:8091 on netuid 1, nonce 7, period 128,
/// finalized head 6,852,690, spec 343, transaction version 1.
@Suite struct ServeAxonTests {
    let metadata = ChainFixtures.metadata
    let serve = ServeAxonCall(netuid: 1, ip: IPAddressText.parse("203.0.113.7")!.value, ipType: 4, port: 8091)

    var context: SignedExtrinsic.Context {
        SignedExtrinsic.Context(
            specVersion: 343, transactionVersion: 1, genesisHash: ChainFixtures.finneyGenesis,
            era: .mortal(period: 128, current: 6_852_690), birthHash: ChainFixtures.recordedHead, nonce: 7
        )
    }

    @Test func callBytesEqualTheWorkedExample() throws {
        let call = try serve.encoded(metadata: metadata)
        #expect(Hex.encode(call) == "0704" + "0100" + "08aa9800" + "077100cb000000000000000000000000" + "9b1f" + "04" + "04" + "00" + "00")
        #expect(call.count == 30)
    }

    @Test func eraOfTheRecordedHead() {
        let era = Era.mortal(period: 128, current: 6_852_690)
        #expect(era.encoded == [0x26, 0x05])
        #expect(era.birth == 6_852_690)
        #expect(Era.mortal(period: 100, current: 1000).encoded == [0x86, 0x06])  // rounded up to 128, phase 104
        #expect(Era.mortal(period: 100, current: 1000).birth == 896 + 104)
    }

    @Test func signingPayloadEqualsTheWorkedExample() throws {
        let extrinsic = try SignedExtrinsic(call: try serve.encoded(metadata: metadata), context: context, metadata: metadata)
        let payload = extrinsic.signingPayload
        #expect(payload.count == 108)
        #expect(Hex.encode(payload) == Hex.encode(try serve.encoded(metadata: metadata)) + "2605" + "1c" + "00" + "00"
            + "57010000" + "01000000" + Hex.encode(ChainFixtures.finneyGenesis) + Hex.encode(ChainFixtures.recordedHead) + "00")
        #expect(SignedExtrinsic.bytesToSign(payload) == payload)
        #expect(SignedExtrinsic.bytesToSign(payload + [UInt8](repeating: 0, count: 200)).count == 32)
    }

    @Test func signedExtrinsicHasTheLayoutOfTheCapturedOne() throws {
        let alice = Sr25519.Keypair(miniSecret: ChainFixtures.aliceSeed)
        #expect(Hex.encode(alice.publicKey.bytes) == "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
        let extrinsic = try SignedExtrinsic(call: try serve.encoded(metadata: metadata), context: context, metadata: metadata)
        let bytes = extrinsic.signed(by: alice)
        #expect(bytes.count == 136)
        #expect(Hex.encode(Array(bytes.prefix(4))) == "19028400")
        #expect(Array(bytes[4..<36]) == alice.publicKey.bytes)
        #expect(bytes[36] == 1)
        let signature = Array(bytes[37..<101])
        #expect(Sr25519.verify(signature: signature, message: extrinsic.signingPayload, publicKey: alice.publicKey))
        #expect(Hex.encode(Array(bytes[101...])) == "26051c0000" + Hex.encode(try serve.encoded(metadata: metadata)))
    }

    @Test func refusesAnUnknownTransactionVersion() throws {
        var newer = context
        newer.transactionVersion = 2
        #expect(throws: ChainFailure.self) { try SignedExtrinsic(call: [7, 4], context: newer, metadata: metadata) }
    }

    @Test func refusesAnUnknownExtensionThatCarriesData() throws {
        let u32 = try #require(metadata.registry.types.first { if case .primitive(.u32) = $0.value.definition { true } else { false } }?.key)
        let empty = try #require(metadata.extensions.first { $0.identifier == "CheckWeight" }?.type)
        var changed = metadata
        changed.extensions.insert(.init(identifier: "CheckSomethingNew", type: u32, implicitType: empty), at: 5)
        #expect {
            try SignedExtrinsic(call: [7, 4], context: context, metadata: changed)
        } throws: { error in
            "\(error)".contains("CheckSomethingNew") && "\(error)".contains("refusing to sign")
        }
        // A zero-sized one (as subtensor added after spec 343) changes nothing on the wire.
        var harmless = metadata
        harmless.extensions.insert(.init(identifier: "SudoTransactionExtension", type: empty, implicitType: empty), at: 8)
        let plain = try SignedExtrinsic(call: [7, 4], context: context, metadata: metadata)
        let withZeroSized = try SignedExtrinsic(call: [7, 4], context: context, metadata: harmless)
        #expect(plain.signingPayload == withZeroSized.signingPayload)
        #expect(plain.explicit == withZeroSized.explicit)
    }

    @Test func refusesAServeAxonWithOtherParameters() throws {
        var changed = metadata
        let pallet = try #require(changed.pallets.firstIndex { $0.name == "SubtensorModule" })
        changed.pallets[pallet].callType = nil
        #expect(throws: (any Error).self) { try serve.encoded(metadata: changed) }
    }

    @Test func axonInfoDecodesAndComparesWithoutTheBlock() throws {
        var writer = ScaleWriter()
        writer.u64(6_852_600)
        writer.u32(ServeAxonCall.bittensorVersion)
        writer.u128(serve.axon.ip)
        writer.u16(8091)
        writer.u8(4)
        writer.u8(4)
        writer.u8(0)
        writer.u8(0)
        let stored = try AxonInfo(scale: writer.bytes)
        #expect(stored.block == 6_852_600)
        #expect(stored.matches(serve.axon))
        #expect(stored.address == "203.0.113.7:8091")
        var older = stored
        older.version = 9_000_000
        #expect(!older.matches(serve.axon))  // a bittensor upgrade re-serves once, as in Python
        #expect(throws: ScaleError.self) { try AxonInfo(scale: Array(writer.bytes.dropLast())) }
    }

    @Test func poolErrorsAreNamed() {
        #expect(ServeError.describe(code: 1010, data: "Custom error: 10", netuid: 1).contains("not registered on subnet 1"))
        #expect(ServeError.describe(code: 1010, data: "Custom error: 11", netuid: 1).contains("IP address"))
        #expect(ServeError.describe(code: 1010, data: "Custom error: 13", netuid: 1).contains("port"))
        #expect(ServeError.describe(code: 1010, data: "Transaction has a bad signature", netuid: 1).contains("bad signature"))
        #expect(ServeError.customCode("Custom error: 12") == 12)
        #expect(ServeError.customCode("Transaction is outdated") == nil)
    }
}
