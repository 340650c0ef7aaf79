import Config
import Foundation
import Testing
@testable import Supervisor

/// The supervisor rotates the log files it writes; `miners logs` reads them back.
@Suite struct LogRotationTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "log-rotation-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Every line of the live file and the backups, oldest first.
    func allLines(_ path: String) throws -> [String] {
        try LogReader(path: path).tail(Int.max).lines
    }

    @Test func rotationKeepsEveryLineOnceAndWhole() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 4096, backups: 1000))
        let queue = OutputQueue(name: "test-rotation", capacity: 64 << 20)
        let loss = LossCounter()
        let count = 5000
        for index in 0..<count {
            queue.enqueue(Array("2026-11-26T06:46:20+0000 notice line \(index) \(String(repeating: "x", count: index % 97))\n".utf8), to: file, loss: loss)
        }
        #expect(await queue.waitUntilIdle(timeout: 30))
        #expect(loss.count == 0)
        #expect(file.rotationError == nil)
        let lines = try LogReader(path: path, maxBackups: 1000).tail(Int.max).lines
        #expect(lines.count == count)
        for (index, line) in lines.enumerated() {
            #expect(line == "2026-11-26T06:46:20+0000 notice line \(index) \(String(repeating: "x", count: index % 97))")
            if line != "2026-11-26T06:46:20+0000 notice line \(index) \(String(repeating: "x", count: index % 97))" { break }
        }
        let backups = LogReader(path: path, maxBackups: 1000).files().dropLast()
        #expect(backups.count > 10)
        #expect(backups.allSatisfy { $0.hasSuffix(".gz") })
        // Each file at most the limit (every line is far shorter), and never a torn line.
        for backup in backups {
            var bytes: [UInt8] = []
            try Gzip.decompress(backup) { bytes.append(contentsOf: $0) }
            #expect(bytes.count <= 4096 && bytes.last == UInt8(ascii: "\n"))
        }
        // gzip itself accepts the backups.
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        gzip.arguments = ["-t", path + ".1.gz", path + ".2.gz"]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
    }

    @Test func backupsBeyondTheLimitAreDeleted() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 1000, backups: 3))
        let queue = OutputQueue(name: "test-rotation-bound")
        let loss = LossCounter()
        for index in 0..<2000 { queue.enqueue(Array("numbered \(index)\n".utf8), to: file, loss: loss) }
        #expect(await queue.waitUntilIdle(timeout: 30))
        #expect(loss.count == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["m.log", "m.log.1.gz", "m.log.2.gz", "m.log.3.gz"])
        // The newest lines are all there, in order, up to the last one.
        let lines = try allLines(path)
        #expect(lines.last == "numbered 1999")
        let first = Int(lines[0].split(separator: " ")[1])!
        #expect(lines == (first..<2000).map { "numbered \($0)" })
        #expect(lines.count > 200)
    }

    @Test func withoutBackupsTheFileStartsAgain() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 100, backups: 0))
        for index in 0..<50 { #expect(file.write(Array("line \(index)\n".utf8)) == nil) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["m.log"])
        #expect((try allLines(path)).last == "line 49")
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) <= 100)
    }

    @Test func aLineLongerThanTheLimitIsWrittenWhole() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 10, backups: 2))
        let long = String(repeating: "y", count: 50)
        #expect(file.write(Array("a\n".utf8)) == nil)
        #expect(file.write(Array("\(long)\n".utf8)) == nil)
        #expect(file.write(Array("b\n".utf8)) == nil)
        #expect(try allLines(path) == ["a", long, "b"])
    }

    @Test func tailGrepAndSinceAcrossBackups() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 200, backups: 10))
        // Minutes 00..39 of one hour, each line with a continuation line without a timestamp.
        for minute in 0..<40 {
            let stamp = String(format: "2026-11-26T06:%02d:00+0000", minute)
            #expect(file.write(Array("\(stamp) notice minute \(minute)\n  detail \(minute)\n".utf8)) == nil)
        }
        #expect(FileManager.default.fileExists(atPath: path + ".3.gz"))
        let reader = LogReader(path: path, maxBackups: 10)
        #expect(try reader.tail(3).lines == ["  detail 38", "2026-11-26T06:39:00+0000 notice minute 39", "  detail 39"])
        #expect(try reader.tail(2, filter: .init(text: "minute 3")).lines == [
            "2026-11-26T06:38:00+0000 notice minute 38", "2026-11-26T06:39:00+0000 notice minute 39",
        ])
        let since = LogReader.timestamp(Array("2026-11-26T07:35:00+0100".utf8))!  // 06:35 UTC
        let recent = try reader.tail(100, filter: .init(since: since)).lines
        #expect(recent.count == 10)
        #expect(recent.first == "2026-11-26T06:35:00+0000 notice minute 35" && recent.last == "  detail 39")
        #expect(try reader.tail(100, filter: .init(text: "detail", since: since)).lines.count == 5)
    }

    @Test func timestamps() {
        func time(_ text: String) -> Double? { LogReader.timestamp(Array(text.utf8))?.timeIntervalSince1970 }
        #expect(time("1970-01-01T00:00:00+0000 x") == 0)
        #expect(time("2026-11-26T06:46:20Z") == 1_795_675_580)
        #expect(time("2026-11-26T06:46:20+0000 notice") == 1_795_675_580)
        #expect(time("2026-11-26T08:46:20+02:00 notice") == 1_795_675_580)
        #expect(time("2026-11-26T06:46:20.5+0000") == 1_795_675_580.5)
        #expect(time("2026-11-26T06:46:20 no zone") == nil)
        #expect(time("[supervisor] worker ended") == nil)
        #expect(time("2026-13-26T06:46:20Z") == nil)
    }

    @Test func followReadsAcrossARotation() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.log"
        let file = LogFile(path: path, rotation: LogRotation(maxBytes: 300, backups: 2))
        #expect(file.write(Array("before\n".utf8)) == nil)
        let (lines, end) = try LogReader(path: path).tail(10)
        #expect(lines == ["before"])
        let follower = LogFollower(path: path, from: end)
        #expect(follower.poll() == [])
        var seen: [String] = []
        for index in 0..<100 {
            #expect(file.write(Array("after \(index)\n".utf8)) == nil)
            if index % 7 == 0 { seen += follower.poll() }
        }
        seen += follower.poll()
        #expect(FileManager.default.fileExists(atPath: path + ".2.gz"))
        #expect(seen == (0..<100).map { "after \($0)" })
        // A follower that filters.
        let grep = LogFollower(path: path, from: nil, filter: .init(text: "9"))
        for index in 100..<120 { _ = file.write(Array("after \(index)\n".utf8)) }
        #expect(grep.poll() == ["after 109", "after 119"])
    }

    @Test func gzipRoundTripOfALargeFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var text = ""
        for index in 0..<100_000 { text += "\(index * 7919 % 100_003)\n" }
        try text.write(toFile: directory + "/plain", atomically: false, encoding: .utf8)
        try Gzip.compress(directory + "/plain", to: directory + "/plain.gz")
        var bytes: [UInt8] = []
        try Gzip.decompress(directory + "/plain.gz") { bytes.append(contentsOf: $0) }
        #expect(bytes == Array(text.utf8))
        // Truncated data is an error, not a silently short file.
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/plain.gz"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: directory + "/short.gz"))
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(directory + "/short.gz") { _ in } }
    }

    @Test func configKeys() throws {
        let miner = "miners:\n  - {name: m, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 8091, backend: {kind: mock}}\n"
        func config(_ supervisor: String) throws -> SupervisorConfig {
            try MinersConfig.parse(yaml: "supervisor: {\(supervisor)}\n" + miner, file: "c.yaml").supervisor
        }
        func error(_ supervisor: String) -> String {
            do {
                _ = try config(supervisor)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(try config("").logMaxBytes == 100 << 20 && config("").logBackups == 5)
        #expect(try config("log_max_bytes: 1M, log_backups: 0").logRotation == LogRotation(maxBytes: 1 << 20, backups: 0))
        #expect(try config("log_max_bytes: 1T, log_backups: 100").logRotation == LogRotation(maxBytes: 1 << 40, backups: 100))
        for value in ["1e400", "2T", "1000K", "-5M", "nan", "[1]", "'100 X'"] {
            #expect(error("log_max_bytes: \(value)").contains("field 'supervisor.log_max_bytes': expected a size from 1M to 1T"), "\(value)")
        }
        for value in ["-1", "101", "1.5", "1e400", "five"] {
            #expect(error("log_backups: \(value)").contains("field 'supervisor.log_backups': expected an integer from 0 to 100"), "\(value)")
        }
    }

    @Test func theNameSupervisorIsReserved() {
        func error(_ yaml: String) -> String {
            do {
                _ = try MinersConfig.parse(yaml: yaml, file: "c.yaml")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let minerError = error("miners:\n  - {name: supervisor, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 8091, backend: {kind: mock}}\n")
        #expect(minerError.contains("field 'name': 'supervisor' is reserved"), "\(minerError)")
        let serviceError = error("""
            services:
              - {name: supervisor, command: [python3], port: 8000}
            miners:
              - {name: m, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 8091, backend: {kind: mock}}

            """)
        #expect(serviceError.contains("field 'name': 'supervisor' is reserved"), "\(serviceError)")
    }
}
