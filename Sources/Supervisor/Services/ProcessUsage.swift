import Foundation

/// CPU and memory of process trees — a pid the supervisor reports and its descendants, since a
/// service's work is often in children — for `miners status --watch`. CPU is a rate, so it takes
/// two reads of `/proc`: the clock ticks spent between them over the time between them.
public final class ProcessUsageSampler {
    public struct Usage: Equatable, Sendable {
        /// Percent of one core since the previous sample of the same pid; nil on the first.
        public var cpuPercent: Double?
        /// As `ProcessTree.residentBytes` counts it (proportional set size where readable).
        public var memoryBytes: Int?
    }

    private let proc: String
    private let ticksPerSecond: Double
    /// The previous sample of each root: when, and the ticks of every process of its tree.
    private var previous: [Int32: (at: Double, ticks: [Int32: Int])] = [:]

    public init(proc: String = "/proc", ticksPerSecond: Double = Double(sysconf(Int32(_SC_CLK_TCK)))) {
        self.proc = proc
        self.ticksPerSecond = ticksPerSecond
    }

    /// The usage of each root's tree now, by root; a root that is gone has none (shown `-`).
    public func sample(_ roots: [Int32], at now: Double = ProcessInfo.processInfo.systemUptime) -> [Int32: Usage] {
        let stats = ProcessTree.stats(proc: proc) ?? [:]
        var usage: [Int32: Usage] = [:]
        var next: [Int32: (at: Double, ticks: [Int32: Int])] = [:]
        for root in Set(roots) {
            let tree = ProcessTree.tree(root: root, in: stats)
            guard !tree.isEmpty else { continue }
            var ticks: [Int32: Int] = [:]
            for pid in tree { ticks[pid] = stats[pid]?.cpuTicks ?? 0 }
            let cpu = previous[root].flatMap { Self.cpuPercent(from: $0.ticks, to: ticks, seconds: now - $0.at, ticksPerSecond: ticksPerSecond) }
            usage[root] = Usage(cpuPercent: cpu, memoryBytes: ProcessTree.residentBytes(of: tree, in: stats, proc: proc))
            next[root] = (now, ticks)
        }
        // Only the roots of this sample are kept: a pid that comes back later starts afresh.
        previous = next
        return usage
    }

    /// Percent of one core the processes of `to` spent since `from` was read. A process new
    /// since then counts all its ticks (it started within the time); one gone since then counts
    /// nothing; one whose count went down is a reused pid, new too. Nil without time between.
    static func cpuPercent(from: [Int32: Int], to: [Int32: Int], seconds: Double, ticksPerSecond: Double) -> Double? {
        guard seconds > 0, ticksPerSecond > 0 else { return nil }
        var spent = 0
        for (pid, now) in to {
            let before = from[pid].flatMap { $0 <= now ? $0 : nil } ?? 0
            spent &+= now - before  // never a trap, whatever /proc says
        }
        return Double(spent) / ticksPerSecond / seconds * 100
    }
}
