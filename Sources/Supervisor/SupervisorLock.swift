import Foundation

/// One supervisor per database: an exclusive `flock` on `DATABASE.supervisor.lock`, holding the
/// owner's pid. The kernel releases it when the process dies, however it dies.
public final class SupervisorLock: Sendable {
    public let path: String
    private let fd: Int32

    public struct Held: Error, CustomStringConvertible {
        public var path: String
        public var holder: String
        public var description: String {
            "another supervisor (\(holder)) is already running for this database; lock file \(path)"
        }
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(database: String) throws {
        path = database + ".supervisor.lock"
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Unavailable(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw Held(path: path, holder: holder.map { "pid \($0)" } ?? "unknown pid")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
