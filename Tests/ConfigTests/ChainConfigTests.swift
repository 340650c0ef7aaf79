import Foundation
import Testing
@testable import Config

/// `chain:`, `external_ip`, `external_port`, and IP address text.
extension ConfigTests {
    /// A wallet whose public hotkey file is //Alice's (the config reads only that file).
    func wallet() throws -> String {
        let wallets = FileManager.default.temporaryDirectory.appendingPathComponent("wallets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: wallets.appendingPathComponent("w/hotkeys"), withIntermediateDirectories: true)
        let key = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        try #"{"cryptoType":1,"publicKey":"\#(key)","accountId":"\#(key)","ss58Address":"\#(alice)"}"#
            .write(to: wallets.appendingPathComponent("w/hotkeys/hpub.txt"), atomically: true, encoding: .utf8)
        return wallets.path
    }

    @Test func chainKeysAndTheirDefaults() throws {
        let wallets = try wallet()
        let config = try MinersConfig.parse(yaml: """
            defaults:
              chain: {netuid: 35, refresh: tempo}
              blacklist: {metagraph: var/metagraph-35.json}
            miners:
              - name: a
                wallet: {path: \(wallets), name: w, hotkey: h}
                port: 8091
                backend: {kind: mock}
                external_ip: 203.0.113.7
              - name: b
                hotkey: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
                port: 8092
                backend: {kind: mock}
                chain: {network: test}
            """, file: "c.yaml")
        let a = config.miners[0], b = config.miners[1]
        #expect(a.chain == ChainConfig(network: "finney", netuid: 35, refresh: .tempo))
        #expect(a.externalAxon == ExternalAxon(ip: "203.0.113.7", port: 8091))  // the bound port by default
        #expect(a.wallet == WalletLocation(path: wallets, name: "w", hotkey: "h"))
        #expect(b.chain == ChainConfig(network: "test", netuid: 35, refresh: .tempo))  // merged key by key
        #expect(b.externalAxon == nil)
        // The chain keys alone do not make a worker restart.
        var moved = a
        moved.externalAxon = ExternalAxon(ip: "198.51.100.1", port: 9000)
        #expect(moved.workerSettings == a.workerSettings)
        #expect(moved != a)
    }

    @Test func chainErrorsNameTheField() throws {
        let wallets = try wallet()
        func miner(_ extra: String) -> String {
            "miners:\n  - name: m\n    wallet: {path: \(wallets), name: w, hotkey: h}\n    port: 8091\n    backend: {kind: mock}\n" + extra
        }
        #expect(error(miner("    external_ip: 203.0.113.7\n"))
            == "c.yaml:6: miner 'm': field 'chain': is required with external_ip: {network, netuid} says where to publish the axon")
        #expect(error(miner("    external_ip: my.host.example\n    chain: {netuid: 35}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'external_ip': 'my.host.example' is not an IPv4 or IPv6 address"))
        #expect(error(miner("    external_ip: 127.0.0.1\n    chain: {netuid: 35}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'external_ip': '127.0.0.1' is a loopback address"))
        #expect(error(miner("    external_port: 9000\n    chain: {netuid: 35}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'external_ip': is required with external_port"))
        #expect(error(miner("    chain: {network: mainnet, netuid: 35}\n")).hasPrefix(
            "c.yaml:6: miner 'm': field 'chain.network': unknown network 'mainnet': expected one of archive, finney, local, test"))
        #expect(error(miner("    chain: {network: finney}\n")) == "c.yaml:6: miner 'm': field 'chain.netuid': is required: the subnet's number (35 for this subnet)")
        #expect(error(miner("    chain: {netuid: 35, refresh: hourly}\n")).hasPrefix("c.yaml:6: miner 'm': field 'chain.refresh': expected 'tempo'"))
        #expect(error(miner("    chain: {netuid: 35, ca_file: /nonexistent/ca.pem}\n"))
            == "c.yaml:6: miner 'm': field 'chain.ca_file': cannot read /nonexistent/ca.pem (PEM certificates to trust for a wss:// node)")
        #expect(error(miner("    chain: {netuid: 35, refresh: tempo}\n")).hasSuffix("'tempo' needs blacklist.metagraph: the snapshot file the supervisor writes and the worker reads"))
        let bare = "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 8091\n    backend: {kind: mock}\n    chain: {netuid: 1}\n    external_ip: 203.0.113.7\n"
        #expect(error(bare).hasPrefix("c.yaml:7: miner 'm': field 'wallet': is required with external_ip"))
        #expect(error("defaults:\n  external_ip: 203.0.113.7\nminers: []\n").contains("unknown key 'external_ip'"))
    }

    static let addresses: [(String, UInt128, UInt8)] = [
        ("203.0.113.7", 0xCB00_7107, 4), ("0.0.0.0", 0, 4), ("255.255.255.255", 0xFFFF_FFFF, 4),
        ("2001:db8::1", UInt128(0x2001_0db8) << 96 | 1, 6), ("::ffff:1.2.3.4", 0xFFFF_0102_0304, 6),
        ("fe80::", UInt128(0xFE80) << 112, 6), ("1:2:3:4:5:6:7:8", 0x0001_0002_0003_0004_0005_0006_0007_0008, 6),
    ]

    @Test(arguments: addresses)
    func ipAddressesParse(text: String, value: UInt128, type: UInt8) throws {
        let parsed = try #require(IPAddressText.parse(text))
        #expect(parsed.value == value)
        #expect(parsed.type == type)
    }

    @Test func badAddressesDoNotParse() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1.2.3", "host"] {
            #expect(IPAddressText.parse(text) == nil, "\(text)")
        }
    }

    /// As bittensor prints them: `str(netaddr.IPAddress(int))`.
    @Test func addressesFormatAsNetaddrDoes() {
        #expect(IPAddressText.format(0) == "0.0.0.0")
        #expect(IPAddressText.format(0xCB00_7107) == "203.0.113.7")
        #expect(IPAddressText.format(UInt128(0x2001_0db8) << 96 | 1) == "2001:db8::1")
        #expect(IPAddressText.format(0xFFFF_0102_0304) == "::ffff:1.2.3.4")
        #expect(IPAddressText.format(UInt128(1) << 112 | 1) == "1::1")
        #expect(IPAddressText.format(UInt128(1) << 112 | UInt128(1) << 64 | 1) == "1:0:0:1::1")
        #expect(IPAddressText.format(UInt128.max) == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    }
}
