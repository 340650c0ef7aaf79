import Config
import Foundation
import Subprocess
import SystemPackage

/// Starts `miners worker` child processes.
///
/// - Standard input is the read end of a pipe whose write end only the supervisor holds: when
///   the supervisor dies, even by SIGKILL, the kernel closes it and the worker
///   (`--exit-with-parent`) stops within half a second. No orphan outlives its supervisor.
/// - Each worker is its own process group, so a Ctrl-C in the terminal reaches the supervisor
///   only, which then stops the workers in order.
/// - Standard output and error go, line by line, to `LOG_DIR/NAME.log`, and prefixed with the
///   miner's name to the supervisor's standard error when `echo` is set.
public struct ProcessLauncher: WorkerLauncher {
    public var executable: String
    public var configPath: String
    public var databasePath: String
    public var gracePeriod: Double
    public var logDirectory: String
    public var echo: Bool

    public init(executable: String, configPath: String, databasePath: String, gracePeriod: Double, logDirectory: String, echo: Bool) {
        self.executable = executable
        self.configPath = configPath
        self.databasePath = databasePath
        self.gracePeriod = gracePeriod
        self.logDirectory = logDirectory
        self.echo = echo
    }

    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run(_ miner: MinerConfig, events: WorkerEvents) async throws -> WorkerExit {
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let logPath = "\(logDirectory)/\(miner.name).log"
        guard let log = FileHandle(forWritingAtPath: logPath) ?? {
            FileManager.default.createFile(atPath: logPath, contents: nil)
            return FileHandle(forWritingAtPath: logPath)
        }() else { throw LaunchError(description: "cannot open the log file \(logPath)") }
        defer { try? log.close() }
        try log.seekToEnd()

        // Other children never inherit the write end: swift-subprocess closes every descriptor
        // above 2 in the child it spawns.
        let pipe = try FileDescriptor.pipe()
        defer { try? pipe.writeEnd.close() }

        var options = PlatformOptions()
        options.processGroupID = 0
        let configuration = Configuration(
            executable: .path(FilePath(executable)),
            arguments: Arguments([
                "worker", "--config", configPath, "--miner", miner.name, "--db", databasePath,
                "--grace", String(gracePeriod), "--exit-with-parent",
            ]),
            platformOptions: options
        )
        let prefix = Data("[\(miner.name)] ".utf8)
        let result = try await Subprocess.run(
            configuration,
            input: .fileDescriptor(pipe.readEnd, closeAfterSpawningProcess: true),
            output: .sequence,
            error: .combinedWithOutput
        ) { execution in
            events.started(execution.processIdentifier.value)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await request in events.stops {
                        try? execution.send(signal: request == .graceful ? .terminate : .kill)
                    }
                }
                do {
                    for try await line in execution.standardOutput.strings() {
                        let bytes = Data((line + "\n").utf8)
                        log.write(bytes)
                        if echo { FileHandle.standardError.write(prefix + bytes) }
                        if line.hasPrefix("listening on ") { events.listening() }
                    }
                } catch {
                    log.write(Data("[supervisor] lost the worker's output: \(error)\n".utf8))
                }
                group.cancelAll()
            }
        }
        switch result.terminationStatus {
        case .exited(let code): return .exited(code: code)
        case .signaled(let signal): return .signaled(signal)
        }
    }
}
