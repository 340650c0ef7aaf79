import Foundation
import Keys
import TestSupport
@testable import Chain

/// The real Finney recordings of ../shared/reference/chain, copied to Tests/Fixtures/chain.
enum ChainFixtures {
    static let metadata: RuntimeMetadata = {
        let text = try! String(contentsOf: Fixtures.directory.appendingPathComponent("chain/metadata-v15-spec343.hex.txt"), encoding: .utf8)
        return try! RuntimeMetadata(stateCallResult: Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }()

    nonisolated(unsafe) static let session: [String: [String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.directory.appendingPathComponent("chain/rpc-session-metagraph-netuid1.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    /// The recorded `state_call` result of a runtime-API method.
    static func stateCall(_ method: String) -> [UInt8] {
        let calls = session["state_call"]!
        let key = calls.keys.first { $0.hasPrefix("[\"\(method)\"") }!
        return Hex.decode((calls[key] as! [String: Any])["result"] as! String)!
    }

    static let finneyGenesis = Hex.decode("2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03")!
    /// Block 6,852,690, the recorded head.
    static let recordedHead = Hex.decode("db13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0")!
    static let aliceSeed = Hex.decode("e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a")!
}
