import Foundation
import Testing
@testable import Supervisor

/// Writes that fail never trap and never block the caller: they are counted.
@Suite struct OutputWriteTests {
    init() {
        // As the supervisor does: a write to a pipe with no reader fails with EPIPE instead.
        ProcessLauncher.ignoreBrokenPipes
    }

    /// A descriptor-backed target for pipes in tests.
    final class Descriptor: OutputTarget {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        func write(_ bytes: [UInt8]) -> String? { FDWrite.all(fd, bytes) }
    }

    func line(_ index: Int) -> [UInt8] { Array("line \(index) of some worker output\n".utf8) }

    @Test func aFullDiskIsCountedNotFatal() async throws {
        let queue = OutputQueue(name: "test-full")
        let file = LogFile(path: "/dev/full")
        #expect(file.openError == nil)
        let loss = LossCounter()
        for index in 0..<50 { queue.enqueue(line(index), to: file, loss: loss) }
        #expect(await queue.waitUntilIdle())
        #expect(loss.count == 50)
        #expect(loss.lastReason == "/dev/full: No space left on device")
    }

    @Test func aPipeWithoutAReaderIsCountedNotFatal() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        let queue = OutputQueue(name: "test-epipe")
        let loss = LossCounter()
        for index in 0..<10 { queue.enqueue(line(index), to: Descriptor(ends[1]), loss: loss) }
        // Closed only once nothing can write to it: a number closed under a writer is reused at
        // once by another test's file (a database), and the writer's lines land in it.
        let idle = await queue.waitUntilIdle()
        #expect(idle)
        if idle { close(ends[1]) }
        #expect(loss.count == 10)
        #expect(loss.lastReason == "Broken pipe")
        #expect(FDWrite.all(-1, [1, 2, 3]) == "Bad file descriptor")
    }

    @Test func aStalledReaderNeverBlocksTheWriterAndExtraLinesAreDropped() async throws {
        // A pipe nobody reads: the kernel takes 64 KiB, then the queue's thread blocks.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let queue = OutputQueue(name: "test-stalled", capacity: 64 * 1024)
        let loss = LossCounter()
        let started = ContinuousClock.now
        for index in 0..<20_000 { queue.enqueue(line(index), to: Descriptor(ends[1]), loss: loss) }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(2), "enqueue waited: \(elapsed)")
        #expect(loss.count > 10_000)
        #expect(loss.lastReason?.contains("more than 65536 bytes waiting") == true)
        #expect(!queue.isIdle)
        // The reader goes away: the blocked write fails and the rest is counted, not retried forever.
        close(ends[0])
        let idle = await queue.waitUntilIdle()
        #expect(idle)
        if idle { close(ends[1]) }  // never under a writer (see above)
    }

    @Test func aNonBlockingDescriptorThatStaysFullGivesUp() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        let big = [UInt8](repeating: 65, count: 1 << 20)
        #expect(FDWrite.all(ends[1], big, waitLimit: 0.05) == "no room to write for 0.05 s")
    }

    @Test func anUnwritableLogDirectoryIsReportedAndRetried() throws {
        let file = LogFile(path: "/dev/null/logs/a.log", retryInterval: 0)
        #expect(file.openError?.hasPrefix("cannot create the log directory /dev/null/logs") == true)
        #expect(file.write(Array("x\n".utf8))?.hasPrefix("cannot create the log directory") == true)
    }

    @Test func linesAreCutAtTheLimitAndTheRestIsKept() {
        var splitter = LineSplitter(maxLength: 8)
        let lines = Array("ab\ncdefghijklmn\nop".utf8).withUnsafeBytes { splitter.feed($0) }
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["ab\n", "cdefghij\n", "klmn\n"])
        #expect(splitter.finish().map { String(decoding: $0, as: UTF8.self) } == "op\n")
        #expect(splitter.finish() == nil)
    }
}
