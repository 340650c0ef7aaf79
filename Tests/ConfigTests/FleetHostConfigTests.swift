import Foundation
import Testing
@testable import Config

/// `fleet_host:` (issue #19, deployment): one YAML names the hosts of a fleet; each host's part is
/// its miners and services plus those without a host. Ports clash only within a host.
@Suite struct FleetHostConfigTests {
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    let charlie = "5E1srFKtKRp3G9rfdtnXeU9pdTMck6jmss1bfzZSC6nJ3rot"

    func parse(_ yaml: String) throws(ConfigError) -> MinersConfig {
        try MinersConfig.parse(yaml: yaml, file: "fleet.yaml")
    }

    func problem(_ yaml: String) -> ConfigError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error
        }
    }

    var fleet: String {
        """
        services:
          - {name: llm, fleet_host: gpu-a, command: [sh], port: 8000}
        miners:
          - {name: a1, fleet_host: gpu-a, hotkey: \(alice), port: 9000, backend: {kind: openai, service: llm, model: m}}
          - {name: b1, fleet_host: gpu-b, hotkey: \(bob), port: 9000, backend: {kind: mock}}
          - {name: shared, hotkey: \(charlie), port: 9001, backend: {kind: mock}}
        """
    }

    /// One config for every host: without `fleet.host`, `--host NAME` names the machine in the
    /// fleet's tables as well; a `fleet.host` written in the config stays.
    @Test func aHostsPartNamesItInTheFleetUnlessTheConfigDoes() throws {
        setenv("MINERS_FLEET_HOST_TEST_URL", "postgres://u:p@db.example:5432/fleet", 1)
        let shared = try parse("fleet: {postgres_env: MINERS_FLEET_HOST_TEST_URL}\n" + fleet)
        #expect(try shared.part(host: "gpu-b").fleet?.host == "gpu-b")
        #expect(try shared.part(host: "gpu-a").fleet?.host == "gpu-a")
        let pinned = try parse("fleet: {postgres_env: MINERS_FLEET_HOST_TEST_URL, host: rack-7}\n" + fleet)
        #expect(try pinned.part(host: "gpu-b").fleet?.host == "rack-7")
    }

    @Test func hostsAndParts() throws {
        let config = try parse(fleet)
        #expect(config.fleetHosts == ["gpu-a", "gpu-b"])
        #expect(config.miners.map(\.fleetHost) == ["gpu-a", "gpu-b", nil])
        #expect(config.services.map(\.fleetHost) == ["gpu-a"])
        let a = try config.part(host: "gpu-a")
        #expect(a.miners.map(\.name) == ["a1", "shared"] && a.services.map(\.name) == ["llm"] && a.selectedHost == "gpu-a")
        let b = try config.part(host: "gpu-b")
        #expect(b.miners.map(\.name) == ["b1", "shared"] && b.services.isEmpty)
        #expect(try config.parts().map(\.host) == ["gpu-a", "gpu-b"])
        #expect(config.defaultHost == MinersConfig.machineHostName())
    }

    @Test func singleHostConfigsAreUnchanged() throws {
        let config = try parse("miners:\n  - {name: m, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(config.fleetHosts.isEmpty && config.defaultHost == nil && config.selectedHost == nil)
        #expect(config.miners[0].host == "127.0.0.1" && config.miners[0].fleetHost == nil)
    }

    @Test func defaultsSetTheHost() throws {
        let config = try parse("""
            defaults: {fleet_host: gpu-a, service: {fleet_host: gpu-a}}
            services:
              - {name: llm, command: [sh], port: 8000}
            miners:
              - {name: a1, hotkey: \(alice), port: 9000, backend: {kind: mock}}
              - {name: b1, fleet_host: gpu-b, hotkey: \(bob), port: 9000, backend: {kind: mock}}
            """)
        #expect(config.miners.map(\.fleetHost) == ["gpu-a", "gpu-b"] && config.services[0].fleetHost == "gpu-a")
    }

    @Test func portsClashOnlyOnOneHost() {
        // The same host, or a miner without a host (it runs everywhere): a clash.
        let same = problem("miners:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n  - {name: b, fleet_host: x, hotkey: \(bob), port: 9000, backend: {kind: mock}}\n")
        #expect(same?.field == "port" && same?.miner == "b" && same?.line == 3)
        let everywhere = problem("miners:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n  - {name: b, hotkey: \(bob), port: 9000, backend: {kind: mock}}\n")
        #expect(everywhere?.field == "port")
        let services = problem("services:\n  - {name: s, fleet_host: x, command: [sh], port: 8000}\n  - {name: t, fleet_host: x, command: [sh], port: 8000}\nminers:\n  - {name: a, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(services?.field == "port" && services?.service == "t")
        let serviceAndMiner = problem("services:\n  - {name: s, fleet_host: y, command: [sh], port: 8000}\nminers:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 8000, backend: {kind: mock}}\n")
        #expect(serviceAndMiner == nil)
        // Names and hotkeys stay unique across the fleet.
        let name = problem("miners:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n  - {name: a, fleet_host: y, hotkey: \(bob), port: 9000, backend: {kind: mock}}\n")
        #expect(name?.field == "name")
        let hotkey = problem("miners:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n  - {name: b, fleet_host: y, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(hotkey?.field == "hotkey")
    }

    @Test func hostNamesAreBounded() {
        for bad in ["'a b'", "''", "'\(String(repeating: "h", count: 64))'", "'gpu/a'", "[a]"] {
            let error = problem("miners:\n  - {name: a, fleet_host: \(bad), hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
            #expect(error?.field == "fleet_host" && error?.miner == "a", "\(bad)")
        }
        #expect(problem("miners:\n  - {name: a, fleet_host: '\(String(repeating: "h", count: 63))', hotkey: \(alice), port: 9000, backend: {kind: mock}}\n") == nil)
        let service = problem("services:\n  - {name: s, fleet_host: 'no spaces', command: [sh], port: 8000}\nminers:\n  - {name: a, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(service?.field == "fleet_host" && service?.service == "s")
        #expect(problem("miners:\n  - {name: a, fleet_hots: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")?.message.contains("did you mean 'fleet_host'") == true)
    }

    @Test func partsRefuseUnknownHostsEmptyPartsAndCrossHostServices() throws {
        let config = try parse(fleet)
        #expect(throws: ConfigError.self) { try config.part(host: "gpu-c") }
        do {
            _ = try config.part(host: "gpu_a")
        } catch {
            #expect(error.field == "--host" && error.message.contains("did you mean 'gpu-a'"))
        }
        #expect(throws: ConfigError.self) { try config.part(host: "bad name") }
        let noMiner = try parse("services:\n  - {name: s, fleet_host: y, command: [sh], port: 8000}\nminers:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(throws: ConfigError.self) { try noMiner.part(host: "y") }
        let cross = try parse("services:\n  - {name: llm, fleet_host: y, command: [sh], port: 8000}\nminers:\n  - {name: a, fleet_host: x, hotkey: \(alice), port: 9000, backend: {kind: openai, service: llm, model: m}}\n  - {name: b, fleet_host: y, hotkey: \(bob), port: 9000, backend: {kind: mock}}\n")
        do {
            _ = try cross.part(host: "x")
            Issue.record("a miner on x depending on a service of y was accepted")
        } catch {
            #expect(error.miner == "a" && error.message.contains("runs on host 'y'"))
        }
        #expect(throws: ConfigError.self) { try cross.parts() }
        // Without hosts, any host name takes the whole file.
        let single = try parse("miners:\n  - {name: m, hotkey: \(alice), port: 9000, backend: {kind: mock}}\n")
        #expect(try single.part(host: "anything").miners.count == 1)
    }
}
