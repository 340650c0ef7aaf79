import Foundation
import NIOCore
import LogStore
import Logging
import ServiceLifecycle
import Synchronization

/// Refusals: anyone can send requests that are refused, as fast as they like (a signed one needs
/// only a key of one's own), so each must cost next to nothing. They are counted per source
/// (an IPv4 address, or an IPv6 /64: one host has a whole /64), validator (only when its
/// signature verified), reason and status within each second and written as one row per group
/// (`count` says how many), and their log lines are limited to `linesPerSecond`, with one line
/// saying how many were left out.
///
/// A `Service`: it writes each finished second, and everything left when the worker stops.
final class RefusalLog: Service, Sendable {
    private struct Key: Hashable {
        var second: Int64
        var source: String?
        var validator: String?
        var reason: String
        var status: Int
    }
    private struct State {
        var groups: [Key: RequestRecord] = [:]
        var lineSecond: Int64 = 0
        var lines = 0
        var suppressed = 0
    }
    private let state = Mutex(State())
    private let log: LogWriter
    private let logger: Logger
    let linesPerSecond: Int
    /// Groups held at once: a new one beyond it writes out every group held so far first.
    let maxGroups: Int

    init(log: LogWriter, logger: Logger, linesPerSecond: Int = 10, maxGroups: Int = 2048) {
        self.log = log
        self.logger = logger
        self.linesPerSecond = linesPerSecond
        self.maxGroups = maxGroups
    }

    /// Takes one refusal: its record (status, reason, detail, source set) joins its group.
    func add(_ record: RequestRecord) {
        let second = Self.second(record.receivedAt)
        let key = Key(
            second: second, source: Self.source(record.dendriteIP), validator: record.validatorHotkey,
            reason: record.reason ?? "-", status: record.status
        )
        let (line, full): (String?, [RequestRecord]) = state.withLock { state in
            var full: [RequestRecord] = []
            if state.groups[key] != nil {
                state.groups[key]?.count += 1
                state.groups[key]?.finishedAt = record.finishedAt
            } else {
                if state.groups.count >= maxGroups {
                    full = Array(state.groups.values)
                    state.groups.removeAll(keepingCapacity: true)
                }
                var first = record
                first.count = 1
                state.groups[key] = first
            }
            if second > state.lineSecond {  // a late refusal of an earlier second spends this one's lines
                state.lineSecond = second
                state.lines = 0
            }
            guard state.lines < linesPerSecond else {
                state.suppressed += 1
                return (nil, full)
            }
            state.lines += 1
            let line = "refused \(record.status) \(record.reason ?? "-") from \(record.dendriteIP ?? "?")"
                + (record.validatorHotkey.map { " (validator \($0))" } ?? record.claimedHotkey.map { " (claims \($0))" } ?? "")
                + ": \(record.detail ?? "")"
            return (line, full)
        }
        for record in full { log.record(record) }
        if let line { logger.notice("\(line)") }
    }

    /// Writes the groups of every second before `before` (all of them when nil).
    func flush(before: Double? = nil) {
        let limit = before.map(Self.second) ?? .max
        let (done, suppressed) = state.withLock { state in
            let done = state.groups.filter { $0.key.second < limit }
            for key in done.keys { state.groups[key] = nil }
            let suppressed = state.suppressed
            state.suppressed = 0
            return (Array(done.values), suppressed)
        }
        for record in done { log.record(record) }
        let total = done.reduce(0) { $0 + $1.count }
        if suppressed > 0 {
            logger.notice("\(suppressed) more refusal lines left out; \(total) refusals written as \(done.count) rows")
        }
    }

    func run() async throws {
        // Each second's groups are final once the next second has begun.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await cancelOnGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            flush(before: Date().timeIntervalSince1970)
        }
        flush()
    }

    /// The source a refusal is counted under, as the connection table counts connections.
    static func source(_ address: String?) -> String? {
        guard let address, address.contains(":"), let parsed = try? SocketAddress(ipAddress: address, port: 0) else { return address }
        return ConnectionTable.source(of: parsed)
    }

    private static func second(_ unix: Double) -> Int64 {
        guard unix.isFinite else { return 0 }  // (found by fuzzing with the clock as input)
        return Int64(min(max(unix, 0), 1e15).rounded(.down))
    }
}
