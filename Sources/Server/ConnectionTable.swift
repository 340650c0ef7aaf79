import Config
import NIOCore
import Synchronization

/// Every open connection of a worker, shared by all its event loops: the limits on how many
/// (in all and per source address), and who makes room when a new one arrives at a limit.
///
/// Idle connections must not lock validators out: at a limit, a new connection evicts the
/// oldest one that is not in a request (as nginx and HAProxy reuse idle connections), and is
/// only refused when every connection there is serving a request. Connections that have not sent
/// a byte go first, oldest first; then those that sent part of a request; then kept-alive ones
/// between requests, longest idle first. A validator's new connection sends its request at once,
/// and its pooled one has served requests: both outlive a flood of silent sockets, even one from
/// the validator's own address.
final class ConnectionTable: Sendable {
    typealias ID = UInt64

    /// The limit a new connection met.
    enum Limit: Sendable, CustomStringConvertible {
        case total(Int)
        case perAddress(Int, String)

        var description: String {
            switch self {
            case .total(let limit): "\(limit) connections open, the limit"
            case .perAddress(let limit, let address): "\(limit) connections open from \(address), the limit per address"
            }
        }
    }

    /// A connection that made room for a new one, to be closed (on its own event loop) and logged.
    struct Eviction: Sendable {
        /// The evicted connection's client address, for the log.
        let address: String?
        /// How long it had been waiting for a request.
        let idle: Duration
        /// It had served a request before (kept alive), or never sent a whole one.
        let keptAlive: Bool
        /// Its client was reading nothing of an answer waiting to be written.
        let stalled: Bool
        /// Which limit was hit.
        let limit: Limit
        let close: @Sendable () -> Void
    }

    enum Admission: Sendable {
        case admitted(ID, evicting: Eviction?)
        /// At a limit with every connection there in a request.
        case refused(Limit)
    }

    let maxConnections: Int
    let maxPerSource: Int
    private let state = Mutex(State())

    init(maxConnections: Int, maxPerSource: Int) {
        self.maxConnections = maxConnections
        self.maxPerSource = maxPerSource
    }

    convenience init(limits: ConnectionLimits) {
        self.init(maxConnections: limits.maxConnections, maxPerSource: limits.maxConnectionsPerIP)
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Connections open now from `source`.
    func count(source: String) -> Int { state.withLock { $0.sources[source]?.open ?? 0 } }

    /// A new connection from `source` (nil when unknown: no per-source limit), `address` as it
    /// is logged. `close` ends it should it be evicted later; it may be called from any thread.
    func open(
        source: String?, address: String?, now: ContinuousClock.Instant = .now, close: @escaping @Sendable () -> Void
    ) -> Admission {
        state.withLock { state in
            var victim: ID?
            var limit = Limit.total(maxConnections)
            if let source, (state.sources[source]?.open ?? 0) >= maxPerSource {
                limit = .perAddress(maxPerSource, address ?? source)
                victim = state.sources[source].flatMap { $0.stalled.first ?? $0.idle.oldest }
                if victim == nil { return .refused(limit) }
            } else if state.entries.count >= maxConnections {
                victim = state.stalled.first ?? state.idle.oldest
                if victim == nil { return .refused(limit) }
            }
            var eviction: Eviction?
            if let victim {
                let stalled = state.stalled.contains(victim)
                if let gone = state.remove(victim) {
                    eviction = Eviction(
                        address: gone.address, idle: now - gone.idleSince, keptAlive: gone.keptAlive, stalled: stalled, limit: limit,
                        close: gone.close
                    )
                }
            }
            let id = state.nextID
            state.nextID &+= 1
            state.insert(id, Entry(source: source, address: address, close: close, idleSince: now))
            return .admitted(id, evicting: eviction)
        }
    }

    /// The connection's first bytes arrived: it is evicted only after every silent one.
    func spoke(_ id: ID) {
        state.withLock { state in
            guard var entry = state.entries[id], !entry.spoke else { return }
            state.unlinkIdle(id, entry)
            entry.spoke = true
            state.entries[id] = entry
            state.linkIdle(id, entry)
        }
    }

    /// The client has stopped reading while its answer waits to be written (or reads again):
    /// such a connection is evicted first, in a request or not — otherwise a client that never
    /// reads the answers to its own pipelined requests would hold its slot for good.
    func stalled(_ id: ID, _ isStalled: Bool) {
        state.withLock { state in
            guard let entry = state.entries[id] else { return }
            if isStalled {
                state.stalled.append(id)
                if let source = entry.source { state.sources[source]?.stalled.append(id) }
            } else {
                state.stalled.remove(id)
                if let source = entry.source { state.sources[source]?.stalled.remove(id) }
            }
        }
    }

    /// A whole request head arrived: the connection may not be evicted until `requestEnded`.
    func requestStarted(_ id: ID) {
        state.withLock { state in
            guard var entry = state.entries[id], !entry.busy else { return }
            state.unlinkIdle(id, entry)
            entry.busy = true
            state.entries[id] = entry
        }
    }

    /// The response has ended: the connection waits for its next request, evictable again.
    func requestEnded(_ id: ID, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard var entry = state.entries[id], entry.busy else { return }
            entry.busy = false
            entry.keptAlive = true
            entry.spoke = true
            entry.idleSince = now
            state.entries[id] = entry
            state.linkIdle(id, entry)
        }
    }

    /// The connection is gone. Does nothing for one already evicted (or closed), so each
    /// connection leaves the count exactly once.
    func close(_ id: ID) {
        state.withLock { _ = $0.remove(id) }
    }

    /// The time a connection gets for its request's headers: all of `base` while the table (or
    /// the source's share of it) is at most half full, then less and less down to 1 s at the
    /// limit, so that a flood's silent sockets free their slots sooner.
    func headerTimeout(base: Double, source: String?) -> Double {
        let fill = state.withLock { state in
            let all = Double(state.entries.count) / Double(max(maxConnections, 1))
            let mine = source.map { Double(state.sources[$0]?.open ?? 0) / Double(max(maxPerSource, 1)) } ?? 0
            return max(all, mine)
        }
        let floor = min(base, 1.0)
        guard fill > 0.5 else { return base }
        let shrink = min((fill - 0.5) / 0.5, 1.0)
        return base - (base - floor) * shrink
    }

    /// The key a connection is counted under: its IPv4 address, or the /64 of an IPv6 one (one
    /// host usually has a whole /64, so per-address caps on IPv6 would be no cap at all).
    static func source(of address: SocketAddress?) -> String? {
        switch address {
        case .v4:
            return address?.ipAddress
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            guard bytes.count == 16 else { return address?.ipAddress }
            // ::ffff:a.b.c.d is an IPv4 client of a dual-stack socket: count it as that address.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return groups.joined(separator: ":") + "::/64"
        default:
            return nil
        }
    }
}

extension ConnectionTable {
    fileprivate struct Entry {
        let source: String?
        let address: String?
        let close: @Sendable () -> Void
        var busy = false
        /// Has sent bytes: after the silent ones.
        var spoke = false
        /// Has answered a request: the last eviction tier.
        var keptAlive = false
        var idleSince: ContinuousClock.Instant
    }

    /// The connections that may be evicted, in eviction order: silent ones oldest first, then
    /// those that sent part of a request, then kept-alive ones longest idle first.
    fileprivate struct IdleSet {
        var silent = IDList()
        var fresh = IDList()
        var kept = IDList()

        var oldest: ID? { silent.first ?? fresh.first ?? kept.first }

        mutating func insert(_ id: ID, _ entry: Entry) {
            if entry.keptAlive { kept.append(id) } else if entry.spoke { fresh.append(id) } else { silent.append(id) }
        }

        mutating func remove(_ id: ID, _ entry: Entry) {
            if entry.keptAlive { kept.remove(id) } else if entry.spoke { fresh.remove(id) } else { silent.remove(id) }
        }
    }

    fileprivate struct Source {
        var open = 0
        var idle = IdleSet()
        var stalled = IDList()
    }

    fileprivate struct State {
        var entries: [ID: Entry] = [:]
        var sources: [String: Source] = [:]
        var idle = IdleSet()
        /// Connections whose client reads nothing while an answer waits: evicted before all others.
        var stalled = IDList()
        var nextID: ID = 0

        mutating func insert(_ id: ID, _ entry: Entry) {
            entries[id] = entry
            if let source = entry.source { sources[source, default: Source()].open += 1 }
            linkIdle(id, entry)
        }

        /// Takes the entry out of every count and list; nil when it was not there.
        mutating func remove(_ id: ID) -> Entry? {
            guard let entry = entries.removeValue(forKey: id) else { return nil }
            unlinkIdle(id, entry)
            stalled.remove(id)
            if let source = entry.source { sources[source]?.stalled.remove(id) }
            if let source = entry.source, var counted = sources[source] {
                counted.open -= 1
                if counted.open <= 0 { sources[source] = nil } else { sources[source] = counted }
            }
            return entry
        }

        mutating func linkIdle(_ id: ID, _ entry: Entry) {
            guard !entry.busy else { return }
            idle.insert(id, entry)
            if let source = entry.source { sources[source]?.idle.insert(id, entry) }
        }

        mutating func unlinkIdle(_ id: ID, _ entry: Entry) {
            guard !entry.busy else { return }
            idle.remove(id, entry)
            if let source = entry.source { sources[source]?.idle.remove(id, entry) }
        }
    }
}

/// A queue of ids with removal from the middle in O(1): a doubly linked list kept in a
/// dictionary, so a flood's thousands of arrivals a second each cost a few hash lookups.
struct IDList: Sendable {
    private struct Link: Sendable {
        var previous: UInt64?
        var next: UInt64?
    }

    private var links: [UInt64: Link] = [:]
    private(set) var first: UInt64?
    private var last: UInt64?

    var count: Int { links.count }

    func contains(_ id: UInt64) -> Bool { links[id] != nil }

    mutating func append(_ id: UInt64) {
        guard links[id] == nil else { return }
        links[id] = Link(previous: last, next: nil)
        if let last { links[last]?.next = id } else { first = id }
        last = id
    }

    mutating func remove(_ id: UInt64) {
        guard let link = links.removeValue(forKey: id) else { return }
        if let previous = link.previous { links[previous]?.next = link.next } else { first = link.next }
        if let next = link.next { links[next]?.previous = link.previous } else { last = link.previous }
    }

    /// In order, first to last (for tests).
    var ids: [UInt64] {
        var result: [UInt64] = []
        var cursor = first
        while let id = cursor, result.count < links.count {
            result.append(id)
            cursor = links[id]?.next
        }
        return result
    }
}
