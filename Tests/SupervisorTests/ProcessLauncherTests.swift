import Config
import Foundation
import Testing
@testable import Supervisor

/// `ProcessLauncher` with real processes: shell scripts standing in for `miners worker` (they
/// ignore the worker's arguments).
@Suite struct ProcessLauncherTests {
    let directory: URL
    let output = SupervisorOutput(
        logFiles: OutputQueue(name: "test-logs"), standardError: OutputQueue(name: "test-stderr")
    )

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func script(_ body: String) throws -> String {
        let path = directory.appendingPathComponent("worker-\(UUID().uuidString).sh").path
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func launcher(_ executable: String, logDirectory: String? = nil) -> ProcessLauncher {
        ProcessLauncher(
            executable: executable, configPath: "unused.yaml", databasePath: "unused.sqlite", gracePeriod: 1,
            logDirectory: logDirectory ?? directory.path + "/logs", echo: false, output: output
        )
    }

    let miner = MinerConfig(name: "m", hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", port: 1, backend: .mock(MockBackendConfig()))

    /// Runs the worker; once it is listening, sends `order` (if any). Returns how it ended,
    /// its output losses and its log file.
    func run(_ launcher: ProcessLauncher, order: StopRequest? = nil) async throws -> (WorkerExit, WorkerOutput, String) {
        let (stops, sink) = AsyncStream<StopRequest>.makeStream()
        let losses = WorkerOutput()
        let events = WorkerEvents(started: { _ in }, listening: { if let order { sink.yield(order) } }, stops: stops, output: losses)
        let exit = try await launcher.run(miner, events: events)
        sink.finish()
        #expect(await output.logFiles.waitUntilIdle())
        let log = (try? String(contentsOfFile: launcher.logDirectory + "/m.log", encoding: .utf8)) ?? ""
        return (exit, losses, log)
    }

    @Test func aGracefulStopIsTheLineStopOnTheWorkersPipe() async throws {
        let worker = try script("""
            echo "backtracer: $SWIFT_BACKTRACE"
            echo "listening on 127.0.0.1:1"
            read order
            echo "order: $order"
            exit 0
            """)
        let (exit, losses, log) = try await run(launcher(worker), order: .graceful)
        #expect(exit == .exited(code: 0))
        #expect(log.contains("order: stop\n"))
        // The backtracer is off, so a crash frees the worker's port at once.
        let backtracer = ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] ?? ProcessLauncher.backtraceSetting
        #expect(log.contains("backtracer: \(backtracer)\n"))
        #expect(log.contains("[supervisor] worker pid ") && log.hasSuffix(" ended: exit 0\n"))
        #expect(losses.log.count == 0)
    }

    @Test func aWorkerThatClosedItsPipeGetsSIGTERM() async throws {
        let worker = try script("""
            exec 0<&-
            echo "listening on 127.0.0.1:1"
            exec sleep 30
            """)
        let started = ContinuousClock.now
        let (exit, _, log) = try await run(launcher(worker), order: .graceful)
        #expect(exit == .signaled(SIGTERM))
        #expect(ContinuousClock.now - started < .seconds(10))
        // EPIPE at once, or — while a process spawned meanwhile (another test's) still holds a
        // copy of the pipe's read end — the unread order a second later.
        #expect(
            log.contains("[supervisor] the stop order could not be sent over the worker's pipe (Broken pipe): sending SIGTERM\n")
                || log.contains("[supervisor] the worker did not take the stop order within 1 s: sending SIGTERM\n"),
            "\(log)"
        )
    }

    @Test func aWorkerThatDoesNotReadItsPipeGetsSIGTERMASecondLater() async throws {
        let worker = try script("""
            echo "listening on 127.0.0.1:1"
            exec sleep 30
            """)
        let started = ContinuousClock.now
        let (exit, _, log) = try await run(launcher(worker), order: .graceful)
        let elapsed = ContinuousClock.now - started
        #expect(exit == .signaled(SIGTERM))
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(10))
        #expect(log.contains("[supervisor] the worker did not take the stop order within 1 s: sending SIGTERM\n"))
    }

    @Test func aForcedStopIsSIGKILL() async throws {
        let worker = try script("""
            trap '' TERM
            echo "listening on 127.0.0.1:1"
            while true; do sleep 1; done
            """)
        let (exit, _, _) = try await run(launcher(worker), order: .force)
        #expect(exit == .signaled(SIGKILL))
    }

    @Test func aCrashIsReportedInTheWorkersLog() async throws {
        let worker = try script("""
            echo "Fatal error: something impossible happened"
            kill -SEGV $$
            """)
        let (exit, _, log) = try await run(launcher(worker))
        #expect(exit == .signaled(SIGSEGV))
        #expect(log.contains("Fatal error: something impossible happened\n"))
        #expect(log.contains("ended: signal 11 (Segmentation fault)\n"))
    }

    @Test func aWorkerStartsEvenWhenItsLogCannotBeOpened() async throws {
        let worker = try script("""
            echo "listening on 127.0.0.1:1"
            echo "more output"
            exit 0
            """)
        let (exit, losses, _) = try await run(launcher(worker, logDirectory: "/dev/null/logs"))
        #expect(exit == .exited(code: 0))
        // Two lines of its own and the supervisor's line about its end.
        #expect(losses.log.count == 3)
        #expect(losses.log.lastReason?.hasPrefix("cannot create the log directory /dev/null/logs") == true)
    }

    @Test func aFullLogFileIsCountedAndTheWorkerRunsOn() async throws {
        let logs = directory.path + "/full-logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: logs + "/m.log", withDestinationPath: "/dev/full")
        let worker = try script("""
            for i in 1 2 3 4 5; do echo "line $i"; done
            echo "listening on 127.0.0.1:1"
            read order
            exit 0
            """)
        let (exit, losses, _) = try await run(launcher(worker, logDirectory: logs), order: .graceful)
        #expect(exit == .exited(code: 0))
        #expect(losses.log.count == 7)
        #expect(losses.log.lastReason == "\(logs)/m.log: No space left on device")
    }
}
