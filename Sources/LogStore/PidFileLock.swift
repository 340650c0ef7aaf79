import Foundation

/// An exclusive `flock` on a file that holds the owner's pid: one owner of a resource (a
/// database's supervisor, a miner's journal) at a time. The kernel releases it when the process
/// dies, however it dies.
public final class PidFileLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Someone else holds it; `holder` is their pid as the file says.
    public struct Held: Error, CustomStringConvertible {
        public var path: String
        public var holder: String
        public var description: String { "held by \(holder) (lock file \(path))" }
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Unavailable(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw Held(path: path, holder: holder.flatMap { $0.isEmpty ? nil : "pid \($0)" } ?? "an unknown pid")
        }
        _ = ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }  // for the message of the next one; the flock is what counts
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
