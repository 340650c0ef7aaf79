import Foundation

/// The memory of a process and all its descendants, from `/proc`: a model server's memory is
/// often in children (engine workers), and the supervisor's direct child may be a guard
/// (`miners service-run`).
enum ProcessTree {
    /// Bytes of memory of `root` and its descendants — each one's proportional set size (a page
    /// shared by n of them counts 1/n to each, so pages shared after a fork count once), or its
    /// resident set where `smaps_rollup` cannot be read; nil when `root` is gone.
    static func residentBytes(root: Int32, proc: String = "/proc") -> Int? {
        guard let stats = stats(proc: proc) else { return nil }
        return residentBytes(of: tree(root: root, in: stats), in: stats, proc: proc)
    }

    /// The memory of these processes, counted as `residentBytes(root:)` does; nil for none.
    static func residentBytes(of pids: [Int32], in stats: [Int32: Stat], proc: String = "/proc") -> Int? {
        guard !pids.isEmpty else { return nil }
        var total = 0
        for pid in pids {
            let bytes = proportionalBytes(pid, proc: proc) ?? (stats[pid]?.residentPages ?? 0).multipliedReportingOverflow(by: pageSize).partialValue
            total = total.addingReportingOverflow(bytes).overflow ? Int.max : total + bytes
        }
        return total
    }

    /// What `fields` reads of a process's stat line.
    typealias Stat = (parent: Int32, group: Int32, residentPages: Int, cpuTicks: Int)

    /// The stat line of every process, read once for any number of trees; nil when `proc`
    /// cannot be listed.
    static func stats(proc: String = "/proc") -> [Int32: Stat]? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return nil }
        var stats: [Int32: Stat] = [:]
        // At most this many processes are read: a bound on the work of one check.
        for name in entries.prefix(200_000) {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "\(proc)/\(name)/stat", encoding: .utf8),
                  let fields = Self.fields(stat) else { continue }
            stats[pid] = fields
        }
        return stats
    }

    /// `root` and its descendants in `stats`; none when `root` is not there.
    static func tree(root: Int32, in stats: [Int32: Stat]) -> [Int32] {
        guard stats[root] != nil else { return [] }
        var children: [Int32: [Int32]] = [:]
        for (pid, stat) in stats { children[stat.parent, default: []].append(pid) }
        var tree: [Int32] = []
        var queue = [root]
        var seen = Set<Int32>()
        while let pid = queue.popLast() {
            guard seen.insert(pid).inserted else { continue }
            tree.append(pid)
            queue += children[pid] ?? []
        }
        return tree
    }

    /// The `Pss:` line of `/proc/PID/smaps_rollup`, in bytes.
    static func proportionalBytes(_ pid: Int32, proc: String = "/proc") -> Int? {
        guard let text = try? String(contentsOfFile: "\(proc)/\(pid)/smaps_rollup", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? ""), kilobytes >= 0, kilobytes < Int.max / 1024 else {
            return nil
        }
        return kilobytes * 1024
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The parent pid (field 4), process group (field 5), CPU time in clock ticks (utime and
    /// stime, fields 14 and 15) and resident pages (field 24) of a `/proc/PID/stat` line; the
    /// command name (field 2) may hold spaces and parentheses, so fields count from its last `)`.
    static func fields(_ stat: String) -> Stat? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state): the parent is rest[1], the group rest[2], utime and stime
        // rest[11] and rest[12], the resident pages rest[21].
        guard rest.count > 21, let parent = Int32(rest[1]), let group = Int32(rest[2]), let resident = Int(rest[21]), resident >= 0,
              let user = Int(rest[11]), let system = Int(rest[12]), user >= 0, system >= 0, user < Int.max / 2, system < Int.max / 2 else {
            return nil
        }
        return (parent, group, resident, user + system)
    }

    /// Every process whose parent is `parent` or whose process group is `group`.
    static func members(parent: Int32, group: Int32, proc: String = "/proc") -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        return entries.prefix(200_000).compactMap { name in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "\(proc)/\(name)/stat", encoding: .utf8),
                  let fields = Self.fields(stat), fields.parent == parent || fields.group == group else { return nil }
            return pid
        }
    }
}
