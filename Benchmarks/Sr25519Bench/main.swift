import Foundation
import Keys

// sr25519 verifications per second on one core (this process runs one thread).
//   swift run -c release sr25519-bench [seconds]
let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 3
let keypair = Sr25519.Keypair(miniSecret: Array(repeating: 42, count: 32))
let messages = (0..<256).map { index in
    Array("\(1_795_552_238_487_687_740 + index).5Hh2vxRfjJpxmPdrVfCAFhPRAJE2Kbr8eQMt1QBDWkEML2jR.5E1srFKtKRp3G9rfdtnXeU9pdTMck6jmss1bfzZSC6nJ3rot.e903031c-e845-11f1-a5da-02fc00000001.476dd90b83bc25c679da27b9a4d74b100bd93bf49adfe54123d47ad80567dcdb".utf8)
}
let signatures = messages.map { keypair.sign($0) }

func measure(_ name: String, _ body: (Int) -> Bool) {
    var count = 0, failures = 0
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < .seconds(seconds) {
        for index in 0..<64 where !body((count + index) % messages.count) { failures += 1 }
        count += 64
    }
    let elapsed = clock.now - start
    let rate = Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    print(String(format: "%@: %.0f per second (%.1f µs each), %d failures", name, rate, 1e6 / rate, failures))
}

measure("sr25519 verify") { Sr25519.verify(signature: signatures[$0], message: messages[$0], publicKey: keypair.publicKey) }
measure("sr25519 verify as bittensor (a wrong signature tries both forms)") {
    !Sr25519.verifyAsBittensor(signature: signatures[($0 + 1) % messages.count], message: messages[$0], publicKey: keypair.publicKey)
}
measure("SS58 decode (with checksum)") { _ in (try? SS58.decode("5Hh2vxRfjJpxmPdrVfCAFhPRAJE2Kbr8eQMt1QBDWkEML2jR")) != nil }
