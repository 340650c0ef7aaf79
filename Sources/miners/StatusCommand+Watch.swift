import ArgumentParser
import Foundation
import LogStore
import Supervisor
import Synchronization

/// `status --watch`: the same text as `status`, collected into a frame instead of printed.
extension StatusCommand {
    func validate() throws {
        guard watch else {
            if interval != nil { throw ValidationError("--interval goes with --watch") }
            return
        }
        if json || wantsAnalysis || to != nil || run != nil {
            throw ValidationError("--watch redraws the live table: it does not go with --json, --csv, --since, --from, --to, --by or --run")
        }
        let seconds = interval ?? 2
        guard (0.5...3600).contains(seconds) else {
            throw ValidationError("--interval takes 0.5 to 3600 seconds; got \(seconds)")
        }
    }

    func watchStatus() async throws {
        _ = try target.database()  // a config that cannot be read fails now, not in every frame
        await StatusWatch(interval: interval ?? 2).run { sampler in await self.frame(sampler) }
    }

    /// What `status` prints, with CPU and memory from `sampler`; a failure (a locked or broken
    /// database) is the frame, and the next one tries again.
    func frame(_ sampler: ProcessUsageSampler) async -> String {
        let frame = StatusFrame()
        do {
            try await StatusFrame.$current.withValue(frame) { try await show(sampler: sampler) }
        } catch {
            frame.append("error: \(error)\n")
        }
        return frame.text
    }

    /// Every `print` of StatusCommand: to standard output, or into the frame being drawn.
    /// The tables show names and details from the log, a model server, the chain or a
    /// webhook: an escape sequence among them must not reach the terminal (control characters
    /// become `?`). JSON escapes its own; CSV and JSON keep the data as it is.
    func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
        var text = items.map { "\($0)" }.joined(separator: separator)
        if !json, !csv { text = PrintableText.line(text, keepingLineFeeds: true) }
        text += terminator
        if let frame = StatusFrame.current { frame.append(text) } else { Swift.print(text, terminator: "") }
    }

    /// CPU% and RSS MiB of a pid's process tree, only under --watch: `-` for a stopped or
    /// vanished process, and for CPU on the first frame (a rate needs two readings).
    func usageCells(_ pid: Int32?, _ usage: [Int32: ProcessUsageSampler.Usage]?) -> [String] {
        guard let usage else { return [] }
        let found = pid.flatMap { usage[$0] }
        return [found?.cpuPercent.map { String(format: "%.1f", $0) } ?? "-",
                found?.memoryBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "-"]
    }

    func usageHeader(_ usage: [Int32: ProcessUsageSampler.Usage]?) -> [String] { usage == nil ? [] : ["CPU%", "RSS MiB"] }
}

/// The text of one `status --watch` frame, gathered from StatusCommand's prints while drawn.
final class StatusFrame: Sendable {
    @TaskLocal static var current: StatusFrame?
    private let buffer = Mutex("")

    func append(_ text: String) { buffer.withLock { $0 += text } }
    var text: String { buffer.withLock { $0 } }
}
