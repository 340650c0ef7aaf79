import Foundation
import Testing
@testable import Config

/// `services:` (issue #17) and the keys miners share with them: `env`, `env_file`, `max_rss`,
/// `depends_on`, `backend.service`. Every error names its line, its service or miner and its field.
@Suite struct ServiceConfigTests {
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    let charlie = "5E1srFKtKRp3G9rfdtnXeU9pdTMck6jmss1bfzZSC6nJ3rot"
    /// A fresh directory per test, for env files and working directories.
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("service-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the test's directory with `mode`; returns its path.
    func file(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    /// A mock miner `m` on port 9000: its own 4 lines (`- name` first), after `miners:`.
    var mockMiner: String { "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: mock}\n" }

    /// `services:` on line 1, the service `llm` on lines 2–4 (name, command, port), `extra` from
    /// line 5, then `miners:` and the mock miner.
    func withService(_ extra: String) -> String {
        "services:\n  - name: llm\n    command: [sh, -c, 'exit 0']\n    port: 8000\n" + extra + mockMiner
    }

    /// The service `llm` (lines 2–4), then `tgi` from line 5 (name, command; `second` from line 7).
    func twoServices(_ second: String) -> String {
        "services:\n  - name: llm\n    command: [sh]\n    port: 8000\n  - name: tgi\n    command: [sh]\n" + second + mockMiner
    }

    /// The service `llm` (lines 1–4), then `miners:` (line 5) with `m` (name 6, hotkey 7, port 8,
    /// `backend` on line 9, `extra` from line 10).
    func withMiner(backend: String = "{kind: mock}", _ extra: String = "") -> String {
        "services:\n  - name: llm\n    command: [sh]\n    port: 8000\n"
            + "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: \(backend)\n" + extra
    }

    func parse(_ yaml: String) throws(ConfigError) -> MinersConfig {
        try MinersConfig.parse(yaml: yaml, file: "s.yaml")
    }

    /// The error of `yaml`: file, line, service, miner, field and a piece of the message.
    func expectError(
        _ yaml: String, line: Int?, service: String? = nil, miner: String? = nil, field: String?, _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let problem: ConfigError
        do {
            _ = try parse(yaml)
            Issue.record("no error; expected \(fragment)", sourceLocation: sourceLocation)
            return
        } catch {
            problem = error
        }
        #expect(problem.file == "s.yaml", sourceLocation: sourceLocation)
        #expect(problem.line == line, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.service == service, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.miner == miner, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.field == field, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.message.contains(fragment), "\(problem)", sourceLocation: sourceLocation)
    }

    // MARK: - A valid config

    @Test func twoServicesAndTheirMiners() throws {
        let envFile = try file("vllm.env", "# keys\nexport TOKEN=secret\nSHARED=from-file\n")
        let minerEnv = try file("miner.env", "MINER_KEY=k\n")
        let config = try parse("""
            supervisor:
              metrics_port: 9100
            defaults:
              timeout: request
              service:
                interval: 7
                restart: {backoff_initial: 2, max_restarts: 9}
                env: {HF_HOME: /data/hf, SHARED: inherited}
                health: {http: /ready}
            services:
              - name: vllm
                command: [sh, -c, 'exec sleep 100', --port, "8000"]
                cwd: \(directory)
                env: {SHARED: own, EMPTY: ""}
                env_file: \(envFile)
                gpus: [0, 1]
                host: 127.0.0.1
                port: 8000
                health: {http: /v1/models, model: Qwen/Qwen3-8B}
                start_period: 600
                timeout: 4
                failures: 5
                restart: {max_restarts: 3}
                stop_signal: SIGINT
                grace_period: 45.5
                max_rss: 2G
                log_file: /var/log/vllm.log
              - name: tgi
                command: [/bin/sh]
                host: "::1"
                port: 8080
                gpus: 2
                health: {model: m}
                interval: 2
                stop_signal: INT
                max_rss: 512M
                depends_on: vllm
            miners:
              - name: a
                hotkey: \(alice)
                port: 9000
                backend: {kind: openai, model: Qwen/Qwen3-8B, service: vllm}
              - name: b
                hotkey: \(bob)
                port: 9001
                backend: {kind: tgi, service: tgi}
                depends_on: [vllm]
                env: {X: "1"}
                env_file: \(minerEnv)
                max_rss: 1.5G
              - name: c
                hotkey: \(charlie)
                port: 9002
                backend: {kind: mock}
            """)
        #expect(config.services.map(\.name) == ["vllm", "tgi"])
        let vllm = try #require(config.service(named: "vllm"))
        let tgi = try #require(config.service(named: "tgi"))
        #expect(config.service(named: "a") == nil)

        #expect(vllm.command == ["sh", "-c", "exec sleep 100", "--port", "8000"])
        #expect(vllm.cwd == directory)
        #expect(vllm.environment.variables == ["HF_HOME": "/data/hf", "SHARED": "own", "EMPTY": ""])
        #expect(vllm.environment.file == envFile)
        #expect(try vllm.environment.resolved() == ["HF_HOME": "/data/hf", "SHARED": "own", "EMPTY": "", "TOKEN": "secret"])
        #expect(vllm.gpus == [0, 1])
        #expect(vllm.host == "127.0.0.1" && vllm.port == 8000)
        #expect(vllm.rootURL == "http://127.0.0.1:8000")
        #expect(vllm.health.path == "/v1/models" && vllm.health.model == "Qwen/Qwen3-8B")
        #expect(vllm.health.startPeriod == 600)
        #expect(vllm.health.interval == 7) // from defaults.service
        #expect(vllm.health.timeout == 4)
        #expect(vllm.health.failures == 5)
        // restart merges key by key: the service's max_restarts over the default's backoff_initial.
        #expect(vllm.restart.maxRestarts == 3 && vllm.restart.backoffInitial == 2)
        #expect(vllm.restart.backoffMax == RestartPolicyConfig().backoffMax)
        #expect(vllm.stopSignal == .int && vllm.stopSignal.number == SIGINT)
        #expect(vllm.gracePeriod == 45.5)
        #expect(vllm.maxRSS == 2 << 30)
        #expect(vllm.logFile == "/var/log/vllm.log")
        #expect(vllm.dependsOn == [])

        #expect(tgi.command == ["/bin/sh"] && tgi.cwd == nil)
        // Inherited whole where the service says nothing, merged where it says something.
        #expect(tgi.environment.variables == ["HF_HOME": "/data/hf", "SHARED": "inherited"])
        #expect(tgi.environment.file == nil)
        #expect(tgi.gpus == [2])
        #expect(tgi.host == "::1" && tgi.rootURL == "http://[::1]:8080")
        #expect(tgi.health.path == "/ready" && tgi.health.model == "m")
        #expect(tgi.health.interval == 2)
        #expect(tgi.health.startPeriod == HealthCheckConfig().startPeriod && tgi.health.timeout == 3 && tgi.health.failures == 3)
        #expect(tgi.restart.maxRestarts == 9 && tgi.restart.backoffInitial == 2)
        #expect(tgi.stopSignal == .int)
        #expect(tgi.gracePeriod == 30)
        #expect(tgi.maxRSS == 512 << 20)
        #expect(tgi.logFile == nil)
        #expect(tgi.dependsOn == ["vllm"])
        #expect(!vllm.sharesGPU(with: tgi))

        let a = try config.miner(named: "a")
        guard case .openai(let openai) = a.backend else {
            Issue.record("miner a: \(a.backend.kind)")
            return
        }
        #expect(openai.http.baseURL == "http://127.0.0.1:8000/v1")
        #expect(openai.http.rootURL == "http://127.0.0.1:8000")
        #expect(openai.http.service == "vllm")
        #expect(openai.model == "Qwen/Qwen3-8B")
        #expect(a.services == ["vllm"])
        #expect(a.maxRSS == nil && a.environment.isEmpty)

        let b = try config.miner(named: "b")
        guard case .tgi(let tgiBackend) = b.backend else {
            Issue.record("miner b: \(b.backend.kind)")
            return
        }
        #expect(tgiBackend.http.baseURL == "http://[::1]:8080")
        #expect(tgiBackend.http.service == "tgi")
        #expect(b.services == ["vllm", "tgi"])
        #expect(b.environment.variables == ["X": "1"] && b.environment.file == minerEnv)
        #expect(try b.environment.resolved() == ["X": "1", "MINER_KEY": "k"])
        #expect(b.maxRSS == Int(1.5 * Double(1 << 30)))

        let c = try config.miner(named: "c")
        #expect(c.services == [] && c.backend.http?.service == nil)

        #expect(config.dependents(of: "vllm") == ["a", "b"])
        #expect(config.dependents(of: "tgi") == ["b"])
        #expect(config.dependents(of: "none") == [])
        #expect(config.supervisor.metricsPort == 9100)
    }

    @Test func stopSignalSpellings() throws {
        for (text, signal) in [("SIGINT", StopSignalName.int), ("INT", .int), ("int", .int), ("sigusr1", .usr1), ("HUP", .hup), ("SIGTERM", .term)] {
            let config = try parse(withService("    stop_signal: \(text)\n"))
            #expect(config.services[0].stopSignal == signal, "\(text)")
        }
        #expect(try parse(withService("")).services[0].stopSignal == .term)
        #expect(StopSignalName(text: "KILL") == nil)
    }

    @Test func defaultsOfAService() throws {
        let service = try #require(try parse(withService("")).services.first)
        #expect(service.host == "127.0.0.1" && service.cwd == nil && service.gpus == [] && service.environment.isEmpty)
        #expect(service.health == HealthCheckConfig())
        #expect(service.health.path == "/health" && service.health.model == nil)
        #expect(service.stopSignal == .term && service.gracePeriod == 30 && service.maxRSS == nil && service.dependsOn == [])
        #expect(service.restart == RestartPolicyConfig())
        // No services: section at all.
        let none = try parse(mockMiner)
        #expect(none.services == [] && none.miners[0].services == [])
    }

    @Test func sizes() throws {
        let sizes: [(String, Int)] = [
            ("2G", 2 << 30), ("512M", 512 << 20), ("1.5G", 1_610_612_736), ("1M", 1 << 20), ("16T", 1 << 44),
            ("1048576", 1 << 20), ("2GiB", 2 << 30), ("2GB", 2 << 30), ("1024K", 1 << 20), ("3 g", 3 << 30),
        ]
        for (text, bytes) in sizes {
            #expect(try parse(withService("    max_rss: \(text)\n")).services[0].maxRSS == bytes, "\(text)")
        }
    }

    @Test func relativeCommandRunsFromCwd() throws {
        _ = try file("run.sh", "#!/bin/sh\nexit 0\n", mode: 0o700)
        let config = try parse("services:\n  - name: llm\n    command: [./run.sh, --flag]\n    cwd: \(directory)\n    port: 8000\n" + mockMiner)
        #expect(config.services[0].command == ["./run.sh", "--flag"])
        #expect(config.services[0].cwd == directory)
    }

    @Test func envFileWithMode600IsAccepted() throws {
        let path = try file("ok.env", "A=1\n", mode: 0o600)
        let service = try parse(withService("    env_file: \(path)\n")).services[0]
        #expect(service.environment.file == path)
        #expect(try service.environment.resolved() == ["A": "1"])
        // Read again at every start: a changed file is picked up.
        try "A=2\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try service.environment.resolved() == ["A": "2"])
        let owner400 = try file("ro.env", "B=2\n", mode: 0o400)
        #expect(try parse(withService("    env_file: \(owner400)\n")).services[0].environment.file == owner400)
    }

    // MARK: - command, cwd

    @Test func commandErrors() throws {
        let service = { (command: String) in "services:\n  - name: llm\n    command: \(command)\n    port: 8000\n" + self.mockMiner }
        expectError(service("sh"), line: 3, service: "llm", field: "command", "expected a list: the program, then its arguments")
        expectError(service("[]"), line: 3, service: "llm", field: "command", "expected a list: the program, then its arguments")
        expectError(service("['']"), line: 3, service: "llm", field: "command", "the program's name is empty")
        expectError(service("[sh, [x]]"), line: 3, service: "llm", field: "command", "each argument must be a string")
        expectError(service("[no-such-program-4f1c]"), line: 3, service: "llm", field: "command", "'no-such-program-4f1c' is not found in PATH; give its path")
        expectError(service("[/nonexistent-dir/server]"), line: 3, service: "llm", field: "command", "cannot run /nonexistent-dir/server: No such file or directory")
        expectError("services:\n  - name: llm\n    port: 8000\n" + mockMiner, line: 2, service: "llm", field: "command", "is required")

        _ = try file("notexec", "#!/bin/sh\n", mode: 0o644)
        expectError(
            "services:\n  - name: llm\n    command: [./notexec]\n    cwd: \(directory)\n    port: 8000\n" + mockMiner,
            line: 3, service: "llm", field: "command", "cannot run \(directory)/./notexec: Permission denied"
        )
    }

    @Test func cwdMustBeADirectory() throws {
        let plain = try file("plain", "x")
        expectError(withService("    cwd: \(plain)\n"), line: 5, service: "llm", field: "cwd", "\(plain) is not a directory")
        expectError(withService("    cwd: \(directory)/missing\n"), line: 5, service: "llm", field: "cwd", "\(directory)/missing is not a directory")
        expectError(withService("    cwd: ''\n"), line: 5, service: "llm", field: "cwd", "expected a non-empty string")
    }

    // MARK: - env, env_file

    @Test func envErrors() {
        expectError(withService("    env: [A, B]\n"), line: 5, service: "llm", field: "env", "expected a mapping of variable names to values")
        expectError(withService("    env:\n      GOOD: x\n      1BAD: y\n"), line: 7, service: "llm", field: "env", "'1BAD' is not a variable name")
        expectError(withService("    env:\n      A-B: y\n"), line: 6, service: "llm", field: "env", "'A-B' is not a variable name")
        expectError(withService("    env:\n      A: [1, 2]\n"), line: 6, service: "llm", field: "env.A", "expected a string without NUL bytes")
    }

    @Test func envFileErrors() throws {
        let missing = directory + "/missing.env"
        expectError(withService("    env_file: \(missing)\n"), line: 5, service: "llm", field: "env_file", "\(missing): cannot read it: No such file or directory")
        let shared = try file("shared.env", "A=1\n", mode: 0o644)
        expectError(withService("    env_file: \(shared)\n"), line: 5, service: "llm", field: "env_file", "mode 644")
        expectError(withService("    env_file: \(shared)\n"), line: 5, service: "llm", field: "env_file", "chmod 600 \(shared)")
        let groupWritable = try file("group.env", "A=1\n", mode: 0o620)
        expectError(withService("    env_file: \(groupWritable)\n"), line: 5, service: "llm", field: "env_file", "chmod 600")
        // The env file's own line 3, in the message; the config's line 5, where env_file is.
        let bad = try file("bad.env", "A=1\n# comment\nnot a variable\nB=2\n")
        expectError(withService("    env_file: \(bad)\n"), line: 5, service: "llm", field: "env_file", "\(bad):3: expected KEY=VALUE")
        let badName = try file("badname.env", "\n\n\n2X=1\n")
        expectError(withService("    env_file: \(badName)\n"), line: 5, service: "llm", field: "env_file", "\(badName):4: expected KEY=VALUE with a variable name")
        expectError(withService("    env_file: \(directory)\n"), line: 5, service: "llm", field: "env_file", "is not a regular file")
    }

    @Test func cudaVisibleDevicesAndGPUs() throws {
        expectError(
            withService("    gpus: [0]\n    env: {CUDA_VISIBLE_DEVICES: '1'}\n"),
            line: 6, service: "llm", field: "env.CUDA_VISIBLE_DEVICES", "is set by gpus; give one or the other"
        )
        // Either alone is fine.
        #expect(try parse(withService("    env: {CUDA_VISIBLE_DEVICES: '1'}\n")).services[0].environment.variables == ["CUDA_VISIBLE_DEVICES": "1"])
        #expect(try parse(withService("    gpus: [3, 3, 1]\n")).services[0].gpus == [3, 1])
    }

    // MARK: - gpus, host, port

    @Test func gpuErrors() {
        expectError(withService("    gpus: -1\n"), line: 5, service: "llm", field: "gpus", "expected an integer from 0 to 1023, got '-1'")
        expectError(withService("    gpus:\n      - 0\n      - 1024\n"), line: 7, service: "llm", field: "gpus", "expected an integer from 0 to 1023, got '1024'")
        expectError(withService("    gpus: [zero]\n"), line: 5, service: "llm", field: "gpus", "got 'zero'")
        expectError(withService("    gpus: 1.5\n"), line: 5, service: "llm", field: "gpus", "got '1.5'")
        expectError(withService("    gpus: []\n"), line: 5, service: "llm", field: "gpus", "expected a GPU index or a list of 1 to 64")
    }

    @Test func portErrors() {
        let service = { (port: String) in "services:\n  - name: llm\n    command: [sh]\n    port: \(port)\n" + self.mockMiner }
        expectError("services:\n  - name: llm\n    command: [sh]\n" + mockMiner, line: 2, service: "llm", field: "port", "is required: the TCP port")
        expectError(service("0"), line: 4, service: "llm", field: "port", "expected an integer from 1 to 65535, got '0'")
        expectError(service("70000"), line: 4, service: "llm", field: "port", "expected an integer from 1 to 65535, got '70000'")
        expectError(service("http"), line: 4, service: "llm", field: "port", "got 'http'")
        expectError(withService("    host: ''\n"), line: 5, service: "llm", field: "host", "expected a non-empty string")
    }

    // MARK: - health

    @Test func healthErrors() throws {
        expectError(
            withService("    health:\n      http: /health\n      modle: x\n"),
            line: 7, service: "llm", field: "health", "unknown key 'modle' (did you mean 'model'?)"
        )
        expectError(withService("    health: /health\n"), line: 5, service: "llm", field: "health", "expected a mapping")
        expectError(withService("    health: {http: health}\n"), line: 5, service: "llm", field: "health.http", "expected a path on the server such as /health, got 'health'")
        expectError(withService("    health: {http: '/a b'}\n"), line: 5, service: "llm", field: "health.http", "got '/a b'")
        expectError(withService("    health: {model: ''}\n"), line: 5, service: "llm", field: "health.model", "expected a non-empty string")
        expectError(withService("    start_period: -1\n"), line: 5, service: "llm", field: "start_period", "expected a number of seconds from 0 to 7200, got '-1'")
        expectError(withService("    start_period: 7201\n"), line: 5, service: "llm", field: "start_period", "from 0 to 7200, got '7201'")
        #expect(try parse(withService("    start_period: 0\n")).services[0].health.startPeriod == 0)
        #expect(try parse(withService("    start_period: 7200\n")).services[0].health.startPeriod == 7200)
        expectError(withService("    interval: 0\n"), line: 5, service: "llm", field: "interval", "expected a number of seconds above 0 and at most 3600, got '0'")
        expectError(withService("    timeout: 601\n"), line: 5, service: "llm", field: "timeout", "above 0 and at most 600, got '601'")
        #expect(try parse(withService("    timeout: 600\n")).services[0].health.timeout == 600)
        expectError(withService("    failures: 0\n"), line: 5, service: "llm", field: "failures", "expected an integer from 1 to 1000, got '0'")
    }

    // MARK: - stop_signal, grace_period, max_rss, restart

    @Test func stopAndMemoryErrors() {
        expectError(
            withService("    stop_signal: SIGFOO\n"), line: 5, service: "llm", field: "stop_signal",
            "expected one of: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, got 'SIGFOO'"
        )
        expectError(withService("    stop_signal: 2\n"), line: 5, service: "llm", field: "stop_signal", "got '2'")
        expectError(withService("    grace_period: 3601\n"), line: 5, service: "llm", field: "grace_period", "expected a number of seconds from 0 to 3600, got '3601'")
        expectError(withService("    grace_period: -1\n"), line: 5, service: "llm", field: "grace_period", "got '-1'")
        for size in ["12", "1X", "-5G", "99999T", "G", "1.5.1G", "17T", "1048575"] {
            expectError(
                withService("    max_rss: \(size)\n"), line: 5, service: "llm", field: "max_rss",
                "expected a size from 1M to 16T, such as 512M, 2G or 1.5G, got '\(size)'"
            )
        }
        expectError(withService("    restart: {max_restart: 3}\n"), line: 5, service: "llm", field: "restart", "unknown key 'max_restart' (did you mean 'max_restarts'?)")
        expectError(withService("    restart: {backoff_initial: 0}\n"), line: 5, service: "llm", field: "restart.backoff_initial", "got '0'")
        expectError(withService("    log_file: ''\n"), line: 5, service: "llm", field: "log_file", "expected a non-empty string")
    }

    // MARK: - depends_on

    @Test func unknownDependencySuggestsAName() {
        // The error should point at the depends_on of 'tgi' (line 8).
        let yaml = twoServices("    port: 8001\n    depends_on: [lmm]\n")
        expectError(
            yaml, line: 8, service: "tgi", field: "depends_on", "no service named 'lmm' (did you mean 'llm'?); the services are: llm, tgi"
        )
    }

    @Test func dependencyCycles() {
        let cycle = "services:\n  - name: a\n    command: [sh]\n    port: 8000\n    depends_on: [b]\n"
            + "  - name: b\n    command: [sh]\n    port: 8001\n    depends_on: a\n" + mockMiner
        expectError(cycle, line: 2, field: "depends_on", "services depend on each other in a cycle: a → b → a")
        expectError(withService("    depends_on: [llm]\n"), line: 5, service: "llm", field: "depends_on", "a service cannot depend on itself")
        expectError(withService("    depends_on: ''\n"), line: 5, service: "llm", field: "depends_on", "expected a non-empty string")
        // A chain without a cycle is fine.
        let chain = try? parse(twoServices("    port: 8001\n    depends_on: [llm, llm]\n"))
        #expect(chain?.services.map(\.dependsOn) == [[], ["llm"]])
    }

    // MARK: - Names and ports across services, miners and the supervisor

    @Test func duplicateNamesAndPorts() throws {
        expectError(
            "services:\n  - name: llm\n    command: [sh]\n    port: 8000\n  - name: llm\n    command: [sh]\n    port: 8001\n" + mockMiner,
            line: 5, service: "llm", field: "name", "the name 'llm' is already used by another service"
        )
        expectError(twoServices("    port: 8000\n"), line: 5, service: "tgi", field: "port", "port 8000 on 127.0.0.1 is already used by service 'llm'")
        expectError(twoServices("    host: 0.0.0.0\n    port: 8000\n"), line: 5, service: "tgi", field: "port", "port 8000 on 0.0.0.0 is already used by service 'llm'")
        #expect(try parse(twoServices("    host: 10.0.0.1\n    port: 8000\n")).services.map(\.port) == [8000, 8000])
        // A miner on a service's port; a miner named as a service.
        expectError(
            "services:\n  - name: llm\n    command: [sh]\n    port: 9000\n" + mockMiner,
            line: 6, miner: "m", field: "port", "port 9000 on 127.0.0.1 is already used by service 'llm'"
        )
        expectError(
            "services:\n  - name: m\n    command: [sh]\n    port: 8000\n" + mockMiner,
            line: 6, miner: "m", field: "name", "the name is already used by a service"
        )
    }

    @Test func servicePortIsTheMetricsPort() {
        // The error should point at the service's port (line 6).
        let yaml = "supervisor:\n  metrics_port: 8000\nservices:\n  - name: llm\n    command: [sh]\n    port: 8000\n" + mockMiner
        expectError(
            yaml, line: 6, service: "llm", field: "port", "port 8000 is the supervisor's metrics_port"
        )
    }

    @Test func invalidServiceNames() throws {
        let named = { (name: String) in "services:\n  - name: \(name)\n    command: [sh]\n    port: 8000\n" + self.mockMiner }
        for name in ["../x", ".hidden", "a b", "x/y", String(repeating: "n", count: 65)] {
            expectError(named("'\(name)'"), line: 2, field: "name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        expectError(named("''"), line: 2, field: "name", "expected a non-empty string")
        expectError("services:\n  - command: [sh]\n    port: 8000\n" + mockMiner, line: 2, field: "name", "is required: a unique service name")
        expectError("services: {llm: 1}\n" + mockMiner, line: 1, field: "services", "expected a list of services")
        expectError("services:\n  - llm\n" + mockMiner, line: 2, field: "services", "each service must be a mapping")
        #expect(try parse(named("vllm-Qwen3_8B.v2")).services[0].name == "vllm-Qwen3_8B.v2")
    }

    @Test func unknownKeys() {
        expectError(
            withService("    stop_signl: INT\n"), line: 5, service: "llm", field: nil,
            "unknown key 'stop_signl' (did you mean 'stop_signal'?); expected one of: name, command"
        )
        let defaults = { (body: String) in "defaults:\n  service:\n" + body + self.withService("") }
        expectError(defaults("    intervall: 3\n"), line: 3, field: "defaults.service", "unknown key 'intervall' (did you mean 'interval'?)")
        // A service's identity cannot be a default.
        expectError(defaults("    port: 8000\n"), line: 3, field: "defaults.service", "unknown key 'port'")
        expectError(defaults("    command: [sh]\n"), line: 3, field: "defaults.service", "unknown key 'command'")
        expectError("defaults:\n  service: 3\n" + withService(""), line: 2, field: "defaults.service", "expected a mapping")
        // A bad default is reported for the service that inherits it, at the default's line.
        expectError(defaults("    interval: 0\n"), line: 3, service: "llm", field: "interval", "got '0'")
    }

    // MARK: - Miners: backend.service, depends_on, env, max_rss

    @Test func backendServiceErrors() {
        expectError(
            withMiner(backend: "{kind: openai, model: x, service: lm}"),
            line: 9, miner: "m", field: "backend.service", "no service named 'lm' (did you mean 'llm'?); the services are: llm"
        )
        expectError(
            withMiner(backend: "{kind: tgi, service: llm, base_url: 'http://127.0.0.1:8000'}"),
            line: 9, miner: "m", field: "backend.service", "give base_url or service, not both"
        )
        expectError(
            withMiner(backend: "{kind: tgi}"),
            line: 9, miner: "m", field: "backend.base_url", "is required"
        )
        expectError(
            "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n    backend: {kind: tgi, service: llm}\n",
            line: 5, miner: "m", field: "backend.service", "no service named 'llm'; the config has no services: section"
        )
        // A default backend naming the service serves every miner.
        let inherited = try? parse(
            "services:\n  - name: llm\n    command: [sh]\n    port: 8000\n"
                + "defaults:\n  backend: {kind: openai, service: llm, model: x}\n"
                + "miners:\n  - name: m\n    hotkey: \(alice)\n    port: 9000\n  - name: n\n    hotkey: \(bob)\n    port: 9001\n"
        )
        #expect(inherited?.miners.map { $0.backend.http?.baseURL } == ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"])
        #expect(inherited?.miners.map(\.services) == [["llm"], ["llm"]])
        #expect(inherited?.dependents(of: "llm") == ["m", "n"])
    }

    /// A miner's own `base_url` (or `service`) should replace the other one inherited from
    /// `defaults.backend`, as configs/smollm.yaml's defaults name a service.
    @Test func minerOverridesTheDefaultBackendsServer() throws {
        let defaults = "defaults:\n  backend: {kind: openai, service: llm, model: x}\n"
        let yaml = withMiner(backend: "{kind: openai, base_url: 'http://10.0.0.2:8000/v1'}") + defaults
        let miner = try parse(yaml).miners[0]
        #expect(miner.backend.http?.baseURL == "http://10.0.0.2:8000/v1")
        #expect(miner.backend.http?.service == nil && miner.services == [])
        let reverse = withMiner(backend: "{kind: openai, service: llm}") + "defaults:\n  backend: {kind: openai, base_url: 'http://10.0.0.2:8000/v1', model: x}\n"
        let other = try parse(reverse).miners[0]
        #expect(other.backend.http?.baseURL == "http://127.0.0.1:8000/v1")
        #expect(other.services == ["llm"])
    }

    @Test func minerKeyErrors() throws {
        expectError(withMiner("    depends_on: [lm]\n"), line: 10, miner: "m", field: "depends_on", "no service named 'lm' (did you mean 'llm'?)")
        expectError(withMiner("    max_rss: 1X\n"), line: 10, miner: "m", field: "max_rss", "expected a size from 1M to 16T")
        expectError(withMiner("    max_rss: '12'\n"), line: 10, miner: "m", field: "max_rss", "got '12'")
        expectError(withMiner("    env: {9A: x}\n"), line: 10, miner: "m", field: "env", "'9A' is not a variable name")
        let shared = try file("miner.env", "A=1\n", mode: 0o604)
        expectError(withMiner("    env_file: \(shared)\n"), line: 10, miner: "m", field: "env_file", "chmod 600 \(shared)")
        let good = try file("good.env", "A=1\n")
        let miner = try parse(withMiner("    env_file: \(good)\n    max_rss: 1G\n    depends_on: llm\n")).miners[0]
        #expect(miner.environment.file == good && miner.maxRSS == 1 << 30 && miner.services == ["llm"])
    }
}
