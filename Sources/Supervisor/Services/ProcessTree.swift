import Foundation

/// The resident memory of a process and all its descendants, from `/proc`: a model server's
/// memory is often in children (engine workers), and the supervisor's direct child may be a
/// guard (`miners service-run`).
enum ProcessTree {
    /// Bytes resident in `root` and its descendants; nil when `root` is gone.
    static func residentBytes(root: Int32, proc: String = "/proc") -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return nil }
        var children: [Int32: [Int32]] = [:]
        var pages: [Int32: Int] = [:]
        // At most this many processes are read: a bound on the work of one check.
        for name in entries.prefix(200_000) {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "\(proc)/\(name)/stat", encoding: .utf8),
                  let fields = Self.fields(stat) else { continue }
            children[fields.parent, default: []].append(pid)
            pages[pid] = fields.residentPages
        }
        guard pages[root] != nil else { return nil }
        var total = 0
        var queue = [root]
        var seen = Set<Int32>()
        while let pid = queue.popLast() {
            guard seen.insert(pid).inserted else { continue }
            total += pages[pid] ?? 0
            queue += children[pid] ?? []
        }
        return total.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : total * pageSize
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The parent pid (field 4) and resident pages (field 24) of a `/proc/PID/stat` line; the
    /// command name (field 2) may hold spaces and parentheses, so fields count from its last `)`.
    static func fields(_ stat: String) -> (parent: Int32, residentPages: Int)? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state): the parent is rest[1], the resident pages rest[21].
        guard rest.count > 21, let parent = Int32(rest[1]), let resident = Int(rest[21]), resident >= 0 else { return nil }
        return (parent, resident)
    }
}
