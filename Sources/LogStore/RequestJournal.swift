import Foundation
import Synchronization

/// What a worker has recorded but SQLite may not hold yet, in a file, so that a worker killed
/// with SIGKILL loses nothing: each request's record is appended before the client is sent the
/// end of its response, and a line marks each request as started, so one that never finished is
/// known after a kill.
///
/// The file is mapped into memory (shared): an append is a copy, not a system call, and what
/// was copied is in the kernel's page cache the moment the copy is done, so it outlives the
/// process (not the machine: there is no `fsync`). The mapping grows by doubling; past the last
/// line the file holds zeros until it is trimmed.
///
/// The log writer moves the file aside (`rotate`) with each batch it commits and deletes it
/// after the commit; the next worker of the same miner replays whatever is left (`recover`).
/// Lines: `S <id> <record>` (started), `F <id> <record>` (finished; a later `F` of the same id
/// corrects an earlier one), tab-separated (`RequestLine`).
public final class RequestJournal: Sendable {
    public let path: String
    private struct State: @unchecked Sendable {  // the mapping is only touched under the lock
        var file: MappedFile
        var segment = 0
        /// Started, not finished: copied into each new file, so a rotation never forgets them.
        var open: [String: String] = [:]
    }
    private let state: Mutex<State>
    private let nextID = Atomic<UInt64>(1)

    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        self.path = path
        state = Mutex(State(file: try MappedFile(path: path)))
    }

    deinit {
        state.withLock { $0.file.close() }
    }

    /// The journal next to a database for one miner: `DATABASE.journal/MINER`.
    public static func path(database: String, miner: String) -> String {
        "\(database).journal/\(miner)"
    }

    /// A new id: the process id and a count, unique across the workers a miner has had.
    public func newID() -> String {
        "\(getpid())-\(nextID.wrappingAdd(1, ordering: .relaxed).oldValue)"
    }

    /// Notes a request as started; returns its id for `finished`.
    public func started(_ record: RequestRecord) -> String {
        let id = newID()
        let line = "S\t\(id)\t\(RequestLine.encode(record))\n"
        state.withLock { state in
            state.open[id] = line
            state.file.append(line)
        }
        return id
    }

    /// Appends the request's record; a second call for the same id corrects the first.
    public func finished(_ id: String, _ record: RequestRecord) {
        let line = "F\t\(id)\t\(RequestLine.encode(record))\n"
        state.withLock { state in
            state.open[id] = nil
            state.file.append(line)
        }
    }

    /// Starts a new file and returns the previous one's path, whose records the caller is about
    /// to commit; requests still open are carried over.
    public func rotate() -> String {
        state.withLock { state in
            state.segment += 1
            let aside = "\(path).\(getpid()).\(state.segment)"
            state.file.close()
            rename(path, aside)
            if let file = try? MappedFile(path: path) { state.file = file }
            for line in state.open.values { state.file.append(line) }
            return aside
        }
    }

    /// After the commit of what `rotate` set aside.
    public func committed(_ aside: String) {
        unlink(aside)
    }

    /// What an earlier worker of this miner left: records it finished (the last `F` of each id)
    /// and records of requests it started and never finished. The files are not removed;
    /// `discard` does that once they are committed.
    public static func recover(path: String) -> (finished: [RequestRecord], interrupted: [RequestRecord], files: [String]) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0 == name || $0.hasPrefix(name + ".") }
            .map { "\(directory)/\($0)" }
            .sorted { modified($0) < modified($1) }
        var started: [String: RequestRecord] = [:]
        var finished: [String: RequestRecord] = [:]
        var order: [String] = []
        for file in files {
            guard var data = FileManager.default.contents(atPath: file) else { continue }
            // A file not trimmed (its worker was killed) ends in the zeros of its mapping.
            while data.last == 0 { data.removeLast() }
            var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            // A last line without its newline was cut by the kill: not a record.
            if data.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
            for line in lines {
                let text = String(decoding: line, as: UTF8.self)
                let parts = text.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3, let record = RequestLine.decode(parts[2]) else { continue }
                let id = String(parts[1])
                if started[id] == nil && finished[id] == nil { order.append(id) }
                if parts[0] == "S" { started[id] = record } else if parts[0] == "F" { finished[id] = record }
            }
        }
        var done: [RequestRecord] = []
        var interrupted: [RequestRecord] = []
        for id in order {
            if let record = finished[id] {
                done.append(record)
            } else if let record = started[id] {
                interrupted.append(record)
            }
        }
        return (done, interrupted, files)
    }

    private static func modified(_ file: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date) ?? .distantPast
    }
}

/// A file mapped into memory for appending, grown by doubling, trimmed to its content on close.
struct MappedFile {
    private var descriptor: Int32
    private var base: UnsafeMutableRawPointer?
    private var size: Int
    private(set) var length = 0

    init(path: String, initialSize: Int = 1 << 20) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        size = 0
        base = nil
        guard descriptor >= 0 else {
            throw RequestJournal.OpenError(description: "cannot open the request journal \(path): \(String(cString: strerror(errno)))")
        }
        guard map(size: initialSize) else {
            Glibc.close(descriptor)
            throw RequestJournal.OpenError(description: "cannot map the request journal \(path): \(String(cString: strerror(errno)))")
        }
    }

    private mutating func map(size newSize: Int) -> Bool {
        // Blocks reserved up front: a write into a mapped page the disk has no room for would
        // kill the process (SIGBUS); a full disk must fail here instead, quietly.
        guard posix_fallocate(descriptor, 0, off_t(newSize)) == 0 else { return false }
        let mapped = mmap(nil, newSize, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { return false }
        if let base { munmap(base, size) }
        base = mapped
        size = newSize
        return true
    }

    /// Copies the line in; a line that cannot be kept (no memory, no disk) is left to the
    /// writer's in-memory queue.
    mutating func append(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            if length + bytes.count > size, !map(size: max(size * 2, length + bytes.count)) { return }
            guard let base else { return }
            (base + length).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            length += bytes.count
        }
    }

    /// Unmaps and trims the file to what was written.
    mutating func close() {
        guard descriptor >= 0 else { return }
        if let base { munmap(base, size) }
        base = nil
        _ = ftruncate(descriptor, off_t(length))
        Glibc.close(descriptor)
        descriptor = -1
    }
}
