import Foundation
import Testing
@testable import Config
@testable import Supervisor

/// `miners install systemd` (issue #18): the unit's text, and the sd_notify datagrams the
/// supervisor sends under `Type=notify`.
@Suite struct SystemdUnitTests {
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"

    func config(grace: Double = 20, services: [Double?] = []) throws -> MinersConfig {
        var yaml = "database: var/m.sqlite\nsupervisor: {grace_period: \(grace)}\n"
        if !services.isEmpty {
            yaml += "services:\n"
            for (index, service) in services.enumerated() {
                yaml += "  - name: s\(index)\n    command: [sh]\n    port: \(8000 + index)\n"
                if let service { yaml += "    grace_period: \(service)\n" }
            }
        }
        yaml += "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: mock}\n"
        return try MinersConfig.parse(yaml: yaml, file: "m.yaml")
    }

    func lines(_ unit: SystemdUnit) throws -> [String] {
        try unit.text().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func unitText() throws {
        let unit = SystemdUnit(
            config: try config(), executable: "/usr/local/bin/miners", configPath: "/srv/miners/m.yaml",
            workingDirectory: "/srv/miners"
        )
        let text = try unit.text()
        let all = try lines(unit)
        for expected in [
            "[Unit]", "After=network-online.target", "Wants=network-online.target", "[Service]", "Type=notify",
            "NotifyAccess=main", "ExecStart=/usr/local/bin/miners supervise /srv/miners/m.yaml",
            "ExecReload=/bin/kill -HUP $MAINPID", "WorkingDirectory=/srv/miners", "KillMode=mixed",
            "TimeoutStopSec=50", "TimeoutStartSec=900", "Restart=on-failure", "RestartSec=5", "LimitNOFILE=65536",
            "[Install]", "WantedBy=multi-user.target",
        ] {
            #expect(all.contains(expected), "\(expected) missing from\n\(text)")
        }
        #expect(!text.contains("Environment="))
        #expect(all.first { $0.hasPrefix("Description=") }?.contains("/srv/miners/m.yaml") == true)
        #expect(text.hasSuffix("\n"))
    }

    @Test func stopTimeoutAddsTheSlowestServiceAndRoundsUp() throws {
        func timeout(_ grace: Double, _ services: [Double?]) throws -> Int {
            SystemdUnit(config: try config(grace: grace, services: services), executable: "/m", configPath: "/c", workingDirectory: "/")
                .stopTimeout
        }
        #expect(try timeout(20, []) == 50)
        #expect(try timeout(12.5, []) == 43)
        #expect(try timeout(20, [5, 60, 10]) == 110)
        #expect(try timeout(10, [nil]) == 70)  // a service's default grace_period is 30
        #expect(try timeout(0.2, [0.3]) == 31)
        let unit = SystemdUnit(config: try config(grace: 20, services: [60]), executable: "/m", configPath: "/c", workingDirectory: "/")
        #expect(try lines(unit).contains("TimeoutStopSec=110"))
    }

    @Test func userUnitAndDefaultPaths() throws {
        let unit = SystemdUnit(config: try config(), executable: "/m", configPath: "/c", workingDirectory: "/", user: true)
        let all = try lines(unit)
        #expect(all.contains("WantedBy=default.target"))
        #expect(!all.contains("WantedBy=multi-user.target"))
        #expect(SystemdUnit.defaultPath(name: "miners", user: false) == "/etc/systemd/system/miners.service")
        #expect(SystemdUnit.defaultPath(name: "m2", user: true, environment: ["HOME": "/home/op"]) == "/home/op/.config/systemd/user/m2.service")
        #expect(SystemdUnit.defaultPath(name: "m", user: true, environment: ["HOME": "/h", "XDG_CONFIG_HOME": "/x"]) == "/x/systemd/user/m.service")
        #expect(throws: SystemdUnit.Problem.self) { try SystemdUnit.checkName("my miners") }
        #expect(throws: SystemdUnit.Problem.self) { try SystemdUnit.checkName("") }
        try SystemdUnit.checkName("miners-2_a.b")
    }

    @Test func pathsAreEscapedForSystemd() throws {
        #expect(try SystemdUnit.execWord("/plain/path.yaml") == "/plain/path.yaml")
        #expect(try SystemdUnit.execWord("/a b/c.yaml") == "\"/a b/c.yaml\"")
        #expect(try SystemdUnit.execWord("/50%/$HOME/x\"y\\z") == "\"/50%%/$$HOME/x\\\"y\\\\z\"")
        let unit = SystemdUnit(
            config: try config(), executable: "/opt/my miners/miners", configPath: "/srv/a dir/100%.yaml",
            workingDirectory: "/srv/a dir/%n", environment: [("RUST_LOG", "info"), ("NOTE", "a \"b\" 5%")]
        )
        let all = try lines(unit)
        #expect(all.contains("ExecStart=\"/opt/my miners/miners\" supervise \"/srv/a dir/100%%.yaml\""))
        #expect(all.contains("WorkingDirectory=/srv/a dir/%%n"))  // taken as is: no quotes there
        #expect(all.contains("Environment=\"RUST_LOG=info\""))
        #expect(all.contains("Environment=\"NOTE=a \\\"b\\\" 5%%\""))
        #expect(all.contains("Description=Bittensor miners supervisor (/srv/a dir/100%%.yaml)"))
    }

    @Test func refusesWhatAUnitCannotHold() throws {
        let base = try config()
        for (executable, configPath, directory) in [
            ("/m", "/srv/new\nline.yaml", "/"), ("/bin/mi\nners", "/c", "/"), ("/m", "/c", "/srv/x\ny"),
            ("/m", "/c\r", "/"), ("/m", "/c\t", "/"), ("/m", "/c", "/dir "), ("/m", "/c", "/dir\\"),
            ("miners", "/c", "/"), ("/m", "c.yaml", "/"),
        ] {
            let unit = SystemdUnit(config: base, executable: executable, configPath: configPath, workingDirectory: directory)
            #expect(throws: SystemdUnit.Problem.self, "\(executable) \(configPath) \(directory)") { try unit.text() }
        }
        do {
            _ = try SystemdUnit(config: base, executable: "/m", configPath: "/a\nb", workingDirectory: "/").text()
        } catch {
            #expect(error.description.contains("line break"))
        }
        for (key, value) in [("A B", "x"), ("1A", "x"), ("", "x"), ("A", "x\ny")] {
            let unit = SystemdUnit(config: base, executable: "/m", configPath: "/c", workingDirectory: "/", environment: [(key, value)])
            #expect(throws: SystemdUnit.Problem.self) { try unit.text() }
        }
    }

    // MARK: - SystemdNotify

    /// A datagram socket bound at `address` (a path, or `@name`), and what it receives.
    final class Receiver {
        let fd: Int32
        let path: String?

        init(_ address: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            #expect(fd >= 0)
            var storage = sockaddr_un()
            storage.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(address.utf8)
            if address.hasPrefix("@") { bytes[0] = 0; path = nil } else { bytes.append(0); path = address }
            let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.baseAddress!.advanced(by: offset).copyMemory(from: bytes, byteCount: bytes.count)
            }
            let result = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(offset + bytes.count)) }
            }
            #expect(result == 0, "bind: \(String(cString: strerror(errno)))")
        }

        deinit {
            close(fd)
            if let path { unlink(path) }
        }

        /// The next datagram, waiting up to a second.
        func receive() -> String? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 1000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    @Test func notifiesADatagramSocketAtAPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdn-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.path + "/notify"
        let receiver = try Receiver(path)
        let notify = try SystemdNotify(socket: path)
        #expect(notify.send("READY=1\nSTATUS=all 3 workers running, 0 services healthy"))
        #expect(receiver.receive() == "READY=1\nSTATUS=all 3 workers running, 0 services healthy")
        #expect(notify.send("STOPPING=1"))
        #expect(receiver.receive() == "STOPPING=1")
    }

    @Test func notifiesAnAbstractSocket() throws {
        let name = "@miners-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try Receiver(name)
        let notify = try SystemdNotify(socket: name)
        #expect(notify.send("READY=1"))
        #expect(receiver.receive() == "READY=1")
    }

    @Test func aMissingSocketOrABadNameNeitherTrapsNorBlocks() throws {
        let notify = try SystemdNotify(socket: "/nonexistent-\(UUID().uuidString)/notify")
        #expect(!notify.send("READY=1"))
        #expect(!notify.send("STOPPING=1"))
        #expect(throws: SystemdNotify.Problem.self) { try SystemdNotify(socket: "relative/path") }
        #expect(throws: SystemdNotify.Problem.self) { try SystemdNotify(socket: "/" + String(repeating: "x", count: 200)) }
    }

    @Test func fromEnvironmentTakesTheVariableOut() throws {
        unsetenv("NOTIFY_SOCKET")
        #expect(SystemdNotify.fromEnvironment() == nil)
        setenv("NOTIFY_SOCKET", "@miners-env-test", 1)
        let notify = SystemdNotify.fromEnvironment()
        #expect(notify?.socketName == "@miners-env-test")
        #expect(getenv("NOTIFY_SOCKET") == nil)
    }
}
