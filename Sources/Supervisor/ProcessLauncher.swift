import Config
import Foundation
import Logging
import Subprocess
import SystemPackage

/// Starts `miners worker` child processes.
///
/// - Standard input is the read end of a pipe whose write end only the supervisor holds: the
///   supervisor's stop order is the line `stop` on it (SIGTERM when the pipe is broken or the
///   order lies unread for a second), and when the supervisor dies, even by SIGKILL, the kernel
///   closes it and the worker (`--exit-with-parent`) stops within half a second. No orphan
///   outlives its supervisor.
/// - Each worker is its own process group, so a Ctrl-C in the terminal reaches the supervisor
///   only, which then stops the workers in order.
/// - Standard output and error go, line by line, to `LOG_DIR/NAME.log`, and prefixed with the
///   miner's name to the supervisor's standard error when `echo` is set — both through
///   `OutputQueue`s, so neither a full disk nor a paused terminal holds up the reading. A log
///   file that cannot be opened does not stop the worker; its lines are counted as lost.
/// - Swift's backtracer is off in the worker (`SWIFT_BACKTRACE`, unless the supervisor's own
///   environment sets it): on a crash it spends seconds symbolicating every thread while the
///   worker holds its port, and a SIGSEGV sent from outside it reports without re-raising,
///   leaving the worker running. The runtime still writes the fatal error and a short stack to
///   the log, and the supervisor adds how the worker ended.
public struct ProcessLauncher: WorkerLauncher {
    public var executable: String
    public var configPath: String
    public var databasePath: String
    public var gracePeriod: Double
    public var logDirectory: String
    public var echo: Bool
    /// When each log file is rotated (`supervisor.log_max_bytes`, `supervisor.log_backups`).
    public var logRotation: LogRotation
    public var output: SupervisorOutput
    public var logger: Logger?

    /// What the worker's `SWIFT_BACKTRACE` is set to.
    public static let backtraceSetting = "enable=no"

    public init(
        executable: String, configPath: String, databasePath: String, gracePeriod: Double, logDirectory: String, echo: Bool,
        logRotation: LogRotation = LogRotation(), output: SupervisorOutput = .shared, logger: Logger? = nil
    ) {
        self.logRotation = logRotation
        self.executable = executable
        self.configPath = configPath
        self.databasePath = databasePath
        self.gracePeriod = gracePeriod
        self.logDirectory = logDirectory
        self.echo = echo
        self.output = output
        self.logger = logger
    }

    /// The worker's environment: the supervisor's, with the backtracer off unless the operator
    /// chose a setting.
    static var environment: Environment {
        ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] != nil
            ? .inherit : .inherit.updating(["SWIFT_BACKTRACE": backtraceSetting])
    }

    /// A write to the pipe of a worker that has just died must fail with EPIPE, not kill the
    /// supervisor with SIGPIPE.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    public func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit {
        var arguments = [
            "worker", "--config", configPath, "--miner", miner.name, "--db", databasePath,
            "--grace", String(gracePeriod), "--exit-with-parent",
        ]
        // Refuses with 503 until the supervisor reports its services ready.
        if !miner.services.isEmpty { arguments.append("--backend-gate") }
        return try await spawn(
            name: miner.name, what: "worker", arguments: arguments, variables: try Self.variables(miner.environment),
            logPath: "\(logDirectory)/\(miner.name).log", events: events
        )
    }

    /// A service runs under `miners service-run`, which relays the stop order as the service's
    /// stop signal and stops the server when the supervisor is gone.
    public func runService(_ service: ServiceConfig, events: WorkerEvents) async throws -> WorkerExit {
        var variables = try Self.variables(service.environment)
        if !service.gpus.isEmpty { variables["CUDA_VISIBLE_DEVICES"] = service.gpus.map(String.init).joined(separator: ",") }
        return try await spawn(
            name: service.name, what: "service",
            arguments: ["service-run", "--stop-signal", String(service.stopSignal.number), "--grace", String(service.gracePeriod), "--"]
                + service.command,
            variables: variables, workingDirectory: service.cwd,
            logPath: service.logFile ?? "\(logDirectory)/\(service.name).log", events: events
        )
    }

    /// `env_file` (read now, so a changed key takes effect at the next start) and `env`.
    static func variables(_ environment: ProcessEnvironment) throws -> [String: String] {
        do {
            return try environment.resolved()
        } catch {
            throw LaunchFailure(message: "env_file \(error)")
        }
    }

    struct LaunchFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    func spawn(
        name: String, what: String, arguments: [String], variables: [String: String], workingDirectory: String? = nil, logPath: String,
        events: WorkerEvents
    ) async throws -> WorkerExit {
        Self.ignoreBrokenPipes
        let logFile = LogFile(path: logPath, rotation: logRotation)
        if let problem = logFile.openError {
            logger?.error("\(name): its output is not logged: \(problem); it starts anyway")
        }
        let sink = OutputSink(output: output, file: logFile, losses: events.output, echo: echo ? Array("[\(name)] ".utf8) : nil)

        // Other children never inherit the write end: swift-subprocess closes every descriptor
        // above 2 in the child it spawns. Non-blocking, so an order never waits on a process
        // that stopped reading.
        let pipe = try FileDescriptor.pipe()
        defer { try? pipe.writeEnd.close() }
        let orders = pipe.writeEnd.rawValue
        _ = fcntl(orders, F_SETFL, fcntl(orders, F_GETFL) | O_NONBLOCK)

        var options = PlatformOptions()
        options.processGroupID = 0
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in variables { if let key = Environment.Key(rawValue: key) { updates[key] = value } }
        let configuration = Configuration(
            executable: .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: Self.environment.updating(updates),
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options
        )
        let result = try await Subprocess.run(
            configuration,
            input: .fileDescriptor(pipe.readEnd, closeAfterSpawningProcess: true),
            output: .sequence,
            error: .combinedWithOutput
        ) { execution in
            let pid = execution.processIdentifier.value
            await events.started(pid)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { checks in
                        for await request in events.stops {
                            switch request {
                            case .graceful:
                                if let failure = FDWrite.all(orders, Array("stop\n".utf8), waitLimit: 0) {
                                    sink.supervisorLine("the stop order could not be sent over the worker's pipe (\(failure)): sending SIGTERM")
                                    try? execution.send(signal: .terminate)
                                    continue
                                }
                                // A worker that stopped reading its pipe (wedged, or it closed it)
                                // gets SIGTERM: the order still lies unread a second later.
                                checks.addTask {
                                    guard (try? await Task.sleep(for: Self.orderTimeout)) != nil, Self.unread(orders) > 0 else { return }
                                    sink.supervisorLine("the worker did not take the stop order within 1 s: sending SIGTERM")
                                    try? execution.send(signal: .terminate)
                                }
                            case .force:
                                try? execution.send(signal: .kill, toProcessGroup: true)
                            case .backend(let ready, let reason):
                                // One short line, written whole (a pipe takes up to 4 KiB at once
                                // or nothing): a part of one would glue onto the next order.
                                let line = ready ? "ready\n" : "not_ready \(HealthProbe.printable(reason, maxBytes: 300))\n"
                                if let failure = FDWrite.all(orders, Array(line.utf8), waitLimit: 0) {
                                    sink.supervisorLine("could not tell the worker its backend is \(ready ? "ready" : "not ready") (\(failure))")
                                }
                            }
                        }
                        checks.cancelAll()
                    }
                }
                var lines = LineSplitter()
                do {
                    for try await buffer in execution.standardOutput {
                        for line in buffer.withUnsafeBytes({ lines.feed($0) }) {
                            sink.line(line)
                            if line.starts(with: Self.listening) { await events.listening() }
                        }
                    }
                } catch {
                    sink.supervisorLine("lost the worker's output: \(error)")
                }
                if let last = lines.finish() { sink.line(last) }
                group.cancelAll()
            }
        }
        let exit: WorkerExit
        switch result.terminationStatus {
        case .exited(let code): exit = .exited(code: code)
        case .signaled(let signal): exit = .signaled(signal)
        }
        sink.supervisorLine("\(what) pid \(result.processIdentifier.value) ended: \(exit)")
        return exit
    }

    static let listening = Array("listening on ".utf8)

    /// How long a stop order may lie unread in the worker's pipe.
    static let orderTimeout = Duration.seconds(1)

    /// Bytes written to a pipe and not read yet (FIONREAD works on either end on Linux).
    static func unread(_ fd: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 ? count : 0
    }
}

/// One worker's output on its way to its log file and, with `--echo-logs`, to standard error.
struct OutputSink: Sendable {
    let output: SupervisorOutput
    let file: LogFile
    let losses: WorkerOutput
    /// `[NAME] ` when echoing.
    let echo: [UInt8]?

    func line(_ bytes: [UInt8]) {
        output.logFiles.enqueue(bytes, to: file, loss: losses.log)
        if let echo { output.standardError.enqueue(echo + bytes, to: StandardErrorTarget.shared, loss: losses.echo) }
    }

    /// A line of the supervisor's own about this worker, in its log.
    func supervisorLine(_ text: String) {
        line(Array("[supervisor] \(text)\n".utf8))
    }
}
