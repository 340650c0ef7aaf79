import Foundation
import Synchronization

/// What a worker has recorded but SQLite may not hold yet, in an append-only file, so that a
/// worker killed with SIGKILL loses nothing: each request's record is appended (one `write`,
/// no `fsync` — it must survive the process, not the machine) before the client is sent the
/// end of its response, and a line marks each request as started, so one that never finished
/// is known after a kill.
///
/// The log writer moves the file aside (`rotate`) with each batch it commits and deletes it
/// after the commit; the next worker of the same miner replays whatever is left (`recover`).
/// Lines: `S <id> <record>` (started), `F <id> <record>` (finished; a later `F` of the same id
/// corrects an earlier one), tab-separated (`RequestLine`).
public final class RequestJournal: Sendable {
    public let path: String
    private struct State {
        var descriptor: Int32
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
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw OpenError(description: "cannot open the request journal \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        state = Mutex(State(descriptor: descriptor))
    }

    deinit {
        state.withLock { _ = close($0.descriptor) }
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
            Self.append(line, to: state.descriptor)
        }
        return id
    }

    /// Appends the request's record; a second call for the same id corrects the first.
    public func finished(_ id: String, _ record: RequestRecord) {
        let line = "F\t\(id)\t\(RequestLine.encode(record))\n"
        state.withLock { state in
            state.open[id] = nil
            Self.append(line, to: state.descriptor)
        }
    }

    /// Starts a new file and returns the previous one's path, whose records the caller is about
    /// to commit; requests still open are carried over.
    public func rotate() -> String {
        state.withLock { state in
            state.segment += 1
            let aside = "\(path).\(getpid()).\(state.segment)"
            rename(path, aside)
            let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if descriptor >= 0 {
                close(state.descriptor)
                state.descriptor = descriptor
            }
            for line in state.open.values { Self.append(line, to: state.descriptor) }
            return aside
        }
    }

    /// After the commit of what `rotate` set aside.
    public func committed(_ aside: String) {
        unlink(aside)
    }

    private static func append(_ line: String, to descriptor: Int32) {
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }  // a full disk: the in-memory queue still has it
                offset += written
            }
        }
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
            guard let data = FileManager.default.contents(atPath: file) else { continue }
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
