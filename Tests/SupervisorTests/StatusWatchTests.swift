import Foundation
import Testing
@testable import Supervisor

/// `miners status --watch` (issue #18 item 7): CPU and memory of process trees between two
/// reads of `/proc`, and how frames are drawn on a terminal and elsewhere.
@Suite struct StatusWatchTests {
    // MARK: - ProcessUsageSampler

    @Test func cpuIsTheTicksSpentOverTheTimeBetween() {
        let percent = { ProcessUsageSampler.cpuPercent(from: $0, to: $1, seconds: $2, ticksPerSecond: 100) }
        // 50 ticks at 100 a second in 2 s: a quarter of a core.
        #expect(percent([1: 100], [1: 150], 2) == 25)
        // Two processes, a tree: their ticks add up (and may pass one core).
        #expect(percent([1: 100, 2: 10], [1: 200, 2: 160], 1) == 250)
        // A child new since the last read spent all its ticks since; one gone counts nothing.
        #expect(percent([1: 100, 3: 999], [1: 110, 4: 30], 1) == 40)
        // A count that went down is a reused pid: all of it is new.
        #expect(percent([1: 500], [1: 20], 1) == 20)
        #expect(percent([1: 100], [1: 100], 5) == 0)
        // No time between the reads: no rate.
        #expect(percent([1: 100], [1: 150], 0) == nil)
        #expect(percent([1: 100], [1: 150], -1) == nil)
    }

    /// A `/proc` made of stat lines: (pid, parent, utime, stime, resident pages).
    func writeProc(_ proc: String, _ processes: [(Int32, Int32, Int, Int, Int)]) throws {
        try? FileManager.default.removeItem(atPath: proc)
        for (pid, parent, user, system, pages) in processes {
            var fields = ["\(pid)", "(p \(pid))", "S", "\(parent)"]
            for field in 5...52 {
                fields.append(field == 14 ? "\(user)" : field == 15 ? "\(system)" : field == 24 ? "\(pages)" : "\(1000 + field)")
            }
            try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)", withIntermediateDirectories: true)
            try (fields.joined(separator: " ") + "\n").write(toFile: "\(proc)/\(pid)/stat", atomically: false, encoding: .utf8)
        }
    }

    @Test func samplesTreesAndProcessesThatVanish() throws {
        let proc = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: proc) }
        let page = ProcessTree.pageSize
        // 10 → 11 → 12 (a worker and its children); 20 alone; 30 unrelated.
        try writeProc(proc, [(10, 1, 100, 50, 10), (11, 10, 0, 0, 20), (12, 11, 40, 10, 30), (20, 1, 5, 5, 7), (30, 1, 9999, 0, 1)])
        let sampler = ProcessUsageSampler(proc: proc, ticksPerSecond: 100)
        let first = sampler.sample([10, 20, 99], at: 1000)
        // The first read has memory but no rate yet; a pid that never was has nothing.
        #expect(first[10] == .init(cpuPercent: nil, memoryBytes: 60 * page))
        #expect(first[20] == .init(cpuPercent: nil, memoryBytes: 7 * page))
        #expect(first[99] == nil)

        // 2 s later: 10 spent 30 ticks, 12 spent 50 and vanished with 11; 13 is new with 20.
        // 20 has gone: nothing, not a stale figure.
        try writeProc(proc, [(10, 1, 120, 60, 10), (13, 10, 15, 5, 3), (30, 1, 99999, 0, 1)])
        let second = sampler.sample([10, 20], at: 1002)
        #expect(second[10] == .init(cpuPercent: 25, memoryBytes: 13 * page))  // (30 + 20) ticks / 100 / 2 s
        #expect(second[20] == nil)

        // 20 comes back (a restart that drew the same pid): a first read again, no rate.
        try writeProc(proc, [(10, 1, 120, 60, 10), (20, 1, 50, 0, 7)])
        let third = sampler.sample([10, 20], at: 1003)
        #expect(third[10]?.cpuPercent == 0)
        #expect(third[20] == .init(cpuPercent: nil, memoryBytes: 7 * page))

        // No /proc at all: nothing, never a crash.
        try FileManager.default.removeItem(atPath: proc)
        #expect(sampler.sample([10, 20], at: 1004).isEmpty)
    }

    @Test func samplesThisProcess() throws {
        let sampler = ProcessUsageSampler()
        let first = try #require(sampler.sample([getpid()])[getpid()])
        #expect(first.cpuPercent == nil)
        #expect((first.memoryBytes ?? 0) > 1 << 20)
        // Spin for 0.2 s of CPU: the next read sees it.
        let start = ProcessInfo.processInfo.systemUptime
        var spin = 0
        while ProcessInfo.processInfo.systemUptime - start < 0.2 { spin &+= 1 }
        let second = try #require(sampler.sample([getpid()])[getpid()])
        #expect((second.cpuPercent ?? 0) > 10, "spun \(spin)")
    }

    @Test func statFieldsReadTheCPUTicks() {
        let real = "1 (systemd) S 0 1 1 0 -1 4194560 50369 2404946 111 1199 93 140 4063 2136 20 0 1 0 27 22884352 2868 18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        #expect(ProcessTree.fields(real)?.cpuTicks == 93 + 140)
        #expect(ProcessTree.fields(real.replacingOccurrences(of: " 93 140 ", with: " 93 x ")) == nil)
    }

    // MARK: - WatchScreen

    let date = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21T14:13:20Z

    @Test func onATerminalFramesAreDrawnInPlace() {
        var screen = WatchScreen(terminal: true, interval: 0.5)
        #expect(screen.enter == "\u{1B}[?1049h\u{1B}[?25l")  // the alternate screen, no cursor
        #expect(screen.leave == "\u{1B}[?25h\u{1B}[?1049l")  // the cursor and the shell's screen back
        let first = screen.frame("NAME  STATE\nm1    running\n", at: date)
        // Cursor home, each line cleared to its end, the rest of the screen cleared below.
        #expect(first == "\u{1B}[H" + [
            "miners status, every 0.5s: 2026-09-21T14:13:20Z", "", "NAME  STATE", "m1    running", "", "Ctrl-C to quit",
        ].joined(separator: "\u{1B}[K\n") + "\u{1B}[J")
        // The next frame is drawn the same way, over the first: no blank line, no scrolling.
        let second = screen.frame("NAME  STATE\nm1    stopped\n", at: date.addingTimeInterval(1))
        #expect(second.hasPrefix("\u{1B}[Hminers status, every 0.5s: 2026-09-21T14:13:21Z\u{1B}[K\n"))
        #expect(second.contains("m1    stopped\u{1B}[K\n") && second.hasSuffix("Ctrl-C to quit\u{1B}[J"))
    }

    @Test func onATerminalAFrameIsCutToTheScreen() {
        var screen = WatchScreen(terminal: true, interval: 2)
        let body = (1...30).map { "line \($0) " + String(repeating: "x", count: 100) }.joined(separator: "\n")
        let text = screen.frame(body, at: date, size: (rows: 10, columns: 40))
        let lines = text.dropFirst(3).dropLast(3).components(separatedBy: "\u{1B}[K\n")
        // As many lines as rows, the footer kept last; none wider than the screen less a column.
        #expect(lines.count == 10)
        #expect(lines.first == "miners status, every 2s: 2026-09-21T14:")
        #expect(lines.last == "Ctrl-C to quit")
        #expect(lines.allSatisfy { $0.count <= 39 })
    }

    @Test func elsewhereFramesFollowOneAnother() {
        var screen = WatchScreen(terminal: false, interval: 2)
        #expect(screen.enter.isEmpty && screen.leave.isEmpty)
        let first = screen.frame("NAME  STATE\nm1    running\n", at: date)
        let second = screen.frame("no supervisor is running\n", at: date.addingTimeInterval(2))
        // No escape sequence, no footer; a blank line between frames.
        #expect(first == "miners status, every 2s: 2026-09-21T14:13:20Z\n\nNAME  STATE\nm1    running\n")
        #expect(second == "\nminers status, every 2s: 2026-09-21T14:13:22Z\n\nno supervisor is running\n")
        #expect(!(first + second).contains("\u{1B}"))
    }
}
