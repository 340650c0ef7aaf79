import Foundation
import Testing
@testable import Config
@testable import Supervisor

/// `miners install systemd CONFIG --host NAME` (issue #19): the unit runs that fleet host's part.
@Suite struct SystemdUnitHostTests {
    @Test func execStartNamesTheHost() throws {
        let yaml = """
            services:
              - {name: a-llm, fleet_host: a, command: [sh], port: 8000, grace_period: 100}
            miners:
              - {name: m, fleet_host: a, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 9000, backend: {kind: mock}}
              - {name: n, fleet_host: b, hotkey: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty, port: 9000, backend: {kind: mock}}
            """
        let whole = try MinersConfig.parse(yaml: yaml, file: "f.yaml")
        let unitA = SystemdUnit(config: try whole.part(host: "a"), executable: "/opt/miners/bin/miners", configPath: "/opt/miners/f.yaml", workingDirectory: "/opt/miners", host: "a")
        #expect(try unitA.text().contains("\nExecStart=/opt/miners/bin/miners supervise /opt/miners/f.yaml --host a\n"))
        #expect(unitA.stopTimeout == 150)  // host a's service grace period counts
        let unitB = SystemdUnit(config: try whole.part(host: "b"), executable: "/opt/miners/bin/miners", configPath: "/opt/miners/f.yaml", workingDirectory: "/opt/miners", host: "b")
        #expect(unitB.stopTimeout == 50)  // host b runs no service
        let plain = SystemdUnit(config: whole, executable: "/m", configPath: "/f.yaml", workingDirectory: "/")
        #expect(try plain.text().contains("\nExecStart=/m supervise /f.yaml\n"))
    }
}
