import NIOCore
import Synchronization
import Testing
@testable import Server

/// The connection table as plain values: who is evicted at a limit, who never is, and that the
/// counts stay exact whatever order connections come and go in.
@Suite struct ConnectionTableTests {
    /// Records which connections the table asked to close.
    final class Closed: Sendable {
        private let names = Mutex<[String]>([])
        var all: [String] { names.withLock { $0 } }
        func closer(_ name: String) -> @Sendable () -> Void { { [self] in names.withLock { $0.append(name) } } }
    }

    /// Opens a connection that must be admitted; returns its id and what it evicted.
    @discardableResult
    func admit(
        _ table: ConnectionTable, _ name: String, source: String? = nil, closed: Closed, at time: ContinuousClock.Instant = .now
    ) throws -> (ConnectionTable.ID, ConnectionTable.Eviction?) {
        guard case .admitted(let id, let eviction) = table.open(source: source, address: source, now: time, close: closed.closer(name)) else {
            Issue.record("\(name) was refused")
            throw CancellationError()
        }
        eviction?.close()
        return (id, eviction)
    }

    @Test func atTheLimitTheOldestIdleConnectionMakesRoom() throws {
        let table = ConnectionTable(maxConnections: 3, maxPerSource: 10)
        let closed = Closed()
        let start = ContinuousClock.now
        for (index, name) in ["a", "b", "c"].enumerated() {
            let (_, eviction) = try admit(table, name, source: "10.0.0.\(index)", closed: closed, at: start + .seconds(index))
            #expect(eviction == nil)
        }
        let (_, eviction) = try admit(table, "d", source: "10.0.0.9", closed: closed, at: start + .seconds(5))
        #expect(closed.all == ["a"])
        #expect(eviction?.address == "10.0.0.0")
        #expect(eviction?.idle == .seconds(5))
        #expect(eviction?.keptAlive == false)
        #expect(eviction.map { "\($0.limit)" } == "3 connections open, the limit")
        #expect(table.count == 3)
        try admit(table, "e", source: "10.0.0.9", closed: closed)
        #expect(closed.all == ["a", "b"])
    }

    @Test func aConnectionInARequestIsNeverEvicted() throws {
        let table = ConnectionTable(maxConnections: 2, maxPerSource: 10)
        let closed = Closed()
        let (a, _) = try admit(table, "a", source: "10.0.0.1", closed: closed)
        let (b, _) = try admit(table, "b", source: "10.0.0.2", closed: closed)
        table.requestStarted(a)
        table.requestStarted(b)
        guard case .refused(.total(2)) = table.open(source: "10.0.0.3", address: "10.0.0.3", close: closed.closer("c")) else {
            Issue.record("admitted with every connection in a request")
            return
        }
        #expect(closed.all.isEmpty && table.count == 2)
        // Its response ended: b waits for its next request and may make room.
        table.requestEnded(b)
        try admit(table, "c", source: "10.0.0.3", closed: closed)
        #expect(closed.all == ["b"])
        #expect(table.count == 2)
    }

    @Test func silentConnectionsGoBeforeKeptAliveOnes() throws {
        let table = ConnectionTable(maxConnections: 3, maxPerSource: 10)
        let closed = Closed()
        let start = ContinuousClock.now
        let (validator, _) = try admit(table, "validator", source: "10.0.0.1", closed: closed, at: start)
        table.requestStarted(validator)
        table.requestEnded(validator, now: start + .seconds(1))
        try admit(table, "flood-1", source: "10.0.0.2", closed: closed, at: start + .seconds(2))
        try admit(table, "flood-2", source: "10.0.0.3", closed: closed, at: start + .seconds(3))
        // The validator's connection is the oldest, but it has served a request: the flood's go first.
        for index in 3...6 { try admit(table, "flood-\(index)", source: "10.0.0.\(index + 1)", closed: closed, at: start + .seconds(index + 1)) }
        #expect(closed.all == ["flood-1", "flood-2", "flood-3", "flood-4"])
        // With only kept-alive connections idle, the one idle longest goes.
        let table2 = ConnectionTable(maxConnections: 2, maxPerSource: 10)
        let closed2 = Closed()
        let (x, _) = try admit(table2, "x", closed: closed2, at: start)
        let (y, _) = try admit(table2, "y", closed: closed2, at: start)
        table2.requestStarted(x)
        table2.requestStarted(y)
        table2.requestEnded(y, now: start + .seconds(1))
        table2.requestEnded(x, now: start + .seconds(2))
        let (_, eviction) = try admit(table2, "z", closed: closed2, at: start + .seconds(4))
        #expect(closed2.all == ["y"])
        #expect(eviction?.keptAlive == true && eviction?.idle == .seconds(3))
    }

    /// A validator on the flood's own address: its new connection has sent its request's first
    /// bytes, the flood's have sent nothing, so the flood's go first even though they are older.
    @Test func connectionsThatSpokeOutliveSilentOnesOfTheSameAddress() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerSource: 3)
        let closed = Closed()
        let start = ContinuousClock.now
        try admit(table, "flood-1", source: "10.0.0.1", closed: closed, at: start)
        let (validator, _) = try admit(table, "validator", source: "10.0.0.1", closed: closed, at: start + .seconds(1))
        table.spoke(validator)
        try admit(table, "flood-2", source: "10.0.0.1", closed: closed, at: start + .seconds(2))
        var floods: [ConnectionTable.ID] = []
        for index in 3...6 { floods.append(try admit(table, "flood-\(index)", source: "10.0.0.1", closed: closed, at: start + .seconds(index)).0) }
        #expect(closed.all == ["flood-1", "flood-2", "flood-3", "flood-4"])
        // Once every connection left has spoken, the oldest of them goes.
        for id in floods.suffix(2) { table.spoke(id) }
        try admit(table, "next", source: "10.0.0.1", closed: closed, at: start + .seconds(9))
        #expect(closed.all.last == "validator")
    }

    @Test func anAddressAtItsCapMakesRoomFromItsOwnConnections() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerSource: 2)
        let closed = Closed()
        try admit(table, "other", source: "10.0.0.2", closed: closed)
        let (first, _) = try admit(table, "flood-1", source: "10.0.0.1", closed: closed)
        try admit(table, "flood-2", source: "10.0.0.1", closed: closed)
        let (_, eviction) = try admit(table, "flood-3", source: "10.0.0.1", closed: closed)
        // The other address's older connection is untouched: the cap is the flooding address's.
        #expect(closed.all == ["flood-1"])
        #expect(eviction.map { "\($0.limit)" } == "2 connections open from 10.0.0.1, the limit per address")
        #expect(table.count(source: "10.0.0.1") == 2 && table.count(source: "10.0.0.2") == 1)
        table.close(first)  // already evicted: nothing changes
        #expect(table.count == 3)
    }

    @Test func anAddressWhoseConnectionsAreAllInARequestIsRefusedAlone() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerSource: 2)
        let closed = Closed()
        let (a, _) = try admit(table, "a", source: "10.0.0.1", closed: closed)
        let (b, _) = try admit(table, "b", source: "10.0.0.1", closed: closed)
        table.requestStarted(a)
        table.requestStarted(b)
        guard case .refused(.perAddress(2, "10.0.0.1")) = table.open(source: "10.0.0.1", address: "10.0.0.1", close: closed.closer("c")) else {
            Issue.record("a third connection from a busy address was admitted")
            return
        }
        try admit(table, "d", source: "10.0.0.2", closed: closed)
        #expect(closed.all.isEmpty)
        // Connections of unknown source are not capped per address.
        for index in 0..<5 { try admit(table, "unknown-\(index)", closed: closed) }
        #expect(closed.all.isEmpty && table.count == 8)
    }

    @Test func countsStayExactInAnyOrder() throws {
        let table = ConnectionTable(maxConnections: 50, maxPerSource: 20)
        let closed = Closed()
        var ids: [ConnectionTable.ID] = []
        var generator = SystemRandomNumberGenerator()
        for index in 0..<200 {
            let (id, _) = try admit(table, "c\(index)", source: "10.0.0.\(index % 4)", closed: closed)
            ids.append(id)
            // Every fifth stays in a request (40 in all, 10 per address: room is always left);
            // every third has served one and is kept alive.
            if index % 5 == 0 || index % 3 == 0 { table.requestStarted(id) }
            if index % 5 != 0 && index % 3 == 0 { table.requestEnded(id) }
            #expect(table.count <= 50)
            #expect((0..<4).allSatisfy { table.count(source: "10.0.0.\($0)") <= 20 })
        }
        #expect(table.count == 50)
        #expect(closed.all.count == 150)
        for id in ids.shuffled(using: &generator) {
            table.close(id)
            table.close(id)  // twice: an evicted connection's guard also calls it
            table.requestStarted(id)
            table.requestEnded(id)
        }
        #expect(table.count == 0)
        #expect((0..<4).allSatisfy { table.count(source: "10.0.0.\($0)") == 0 })
        // Empty again, it takes a full load.
        for index in 0..<50 { try admit(table, "again-\(index)", source: "10.0.1.\(index)", closed: closed) }
        #expect(table.count == 50)
    }

    @Test func theHeaderDeadlineShrinksAsTheTableFills() throws {
        let table = ConnectionTable(maxConnections: 10, maxPerSource: 4)
        let closed = Closed()
        #expect(table.headerTimeout(base: 10, source: "10.0.0.1") == 10)
        var ids: [ConnectionTable.ID] = []
        for index in 0..<5 { ids.append(try admit(table, "c\(index)", source: "10.0.1.\(index)", closed: closed).0) }
        #expect(table.headerTimeout(base: 10, source: "10.0.0.1") == 10)  // half full
        for index in 5..<10 { ids.append(try admit(table, "c\(index)", source: "10.0.1.\(index)", closed: closed).0) }
        #expect(table.headerTimeout(base: 10, source: "10.0.0.1") == 1)  // full
        #expect(table.headerTimeout(base: 0.5, source: nil) == 0.5)  // never raised
        for id in ids.prefix(2) { table.close(id) }
        #expect(abs(table.headerTimeout(base: 10, source: nil) - 4.6) < 1e-9)  // 80 %: 10 − 9 × 0.6
        // One address near its own cap gets the short deadline even with the table mostly empty.
        for id in ids.dropFirst(2) { table.close(id) }
        for index in 0..<4 { try admit(table, "own-\(index)", source: "10.0.0.1", closed: closed) }
        #expect(table.headerTimeout(base: 10, source: "10.0.0.1") == 1)
        #expect(table.headerTimeout(base: 10, source: "10.0.0.2") == 10)
    }

    @Test func sourcesAreIPv4AddressesAndIPv6Slash64s() throws {
        #expect(ConnectionTable.source(of: try SocketAddress(ipAddress: "127.0.0.5", port: 1)) == "127.0.0.5")
        #expect(ConnectionTable.source(of: try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 1)) == "2001:db8:1:2::/64")
        #expect(
            ConnectionTable.source(of: try SocketAddress(ipAddress: "2001:db8:1:2:bbbb::9", port: 1))
                == ConnectionTable.source(of: try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 1))
        )
        #expect(ConnectionTable.source(of: try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1)) == "10.1.2.3")
        #expect(ConnectionTable.source(of: nil) == nil)
    }

    @Test func idListRemovesFromAnywhere() {
        var list = IDList()
        for id: UInt64 in 1...5 { list.append(id) }
        list.append(3)  // already there: stays in place
        list.remove(1)
        list.remove(3)
        list.remove(5)
        list.remove(42)
        #expect(list.ids == [2, 4])
        #expect(list.first == 2 && list.count == 2)
        list.append(6)
        list.remove(2)
        list.remove(4)
        #expect(list.ids == [6] && list.first == 6)
        list.remove(6)
        #expect(list.first == nil && list.ids.isEmpty)
    }
}
