import LogStore

/// One supervisor per database: `DATABASE.supervisor.lock`, holding the owner's pid.
public final class SupervisorLock: Sendable {
    private let lock: PidFileLock
    public var path: String { lock.path }

    public struct Held: Error, CustomStringConvertible {
        public var path: String
        public var holder: String
        public var description: String {
            "another supervisor (\(holder)) is already running for this database; lock file \(path)"
        }
    }

    public init(database: String) throws {
        do {
            lock = try PidFileLock(path: database + ".supervisor.lock")
        } catch let held as PidFileLock.Held {
            throw Held(path: held.path, holder: held.holder)
        }
    }
}
