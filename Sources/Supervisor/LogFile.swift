import Config
import Foundation
import Synchronization

/// When a log file is rotated, and how many old ones are kept.
public struct LogRotation: Sendable, Equatable {
    /// A write that would take the file past this size rotates it first (a file never holds
    /// less than one line: a single longer line is written whole to a fresh file).
    public var maxBytes: Int
    /// `NAME.log.1.gz` … `NAME.log.N.gz`; 0 keeps none (the file is emptied instead).
    public var backups: Int

    public init(maxBytes: Int = 100 << 20, backups: Int = 5) {
        self.maxBytes = maxBytes
        self.backups = backups
    }
}

/// A worker's `LOG_DIR/NAME.log`, appended to by an `OutputQueue`. A file that cannot be
/// opened (the directory unwritable or full) does not stop the worker from starting: its lines
/// are counted as lost, and opening is tried again at most every `retryInterval` seconds.
///
/// Rotation: before a write would take the file past `rotation.maxBytes`, `NAME.log` becomes
/// `NAME.log.1.gz` (gzip, compressed on the writing thread in 64 KiB chunks), the older
/// backups move up by one and those beyond `rotation.backups` are deleted. The queue hands
/// whole lines, so a line is never split between files. If compressing fails the backup stays
/// uncompressed as `NAME.log.1` (moved up like the others); if renaming fails the file keeps
/// growing and rotation is tried again after `retryInterval`. No line is lost either way.
public final class LogFile: OutputTarget {
    public let path: String
    public let retryInterval: Double
    public let rotation: LogRotation
    private struct State {
        var fd: Int32?
        /// The file's size, read from the file at the first write after opening (another
        /// `LogFile` of the same path, a worker's previous run, may have written since).
        var size: Int?
        var lastAttempt: Double?
        var openError: String?
        var lastRotationFailure: Double?
        var rotationError: String?
    }
    private let state = Mutex(State())

    public init(path: String, retryInterval: Double = 10, rotation: LogRotation = LogRotation()) {
        self.path = path
        self.retryInterval = retryInterval
        self.rotation = rotation
        state.withLock { open(&$0) }
    }

    /// Why the file is not open, if it is not.
    public var openError: String? { state.withLock { $0.fd == nil ? $0.openError : nil } }

    /// Why the last rotation did not happen or left an uncompressed backup, if it did.
    public var rotationError: String? { state.withLock { $0.rotationError } }

    public func write(_ bytes: [UInt8]) -> String? {
        state.withLock { state in
            if state.fd == nil, let last = state.lastAttempt, Self.now - last >= retryInterval { open(&state) }
            guard let fd = state.fd else { return state.openError }
            var size = state.size ?? Self.size(of: fd)
            if size > 0, size + bytes.count > rotation.maxBytes,
               state.lastRotationFailure.map({ Self.now - $0 >= retryInterval }) ?? true {
                rotate(&state)
                guard let fd = state.fd else { return state.openError }
                size = Self.size(of: fd)
            }
            guard let fd = state.fd else { return state.openError }
            if let failure = FDWrite.all(fd, bytes) {
                state.size = nil
                return "\(path): \(failure)"
            }
            state.size = size + bytes.count
            return nil
        }
    }

    deinit {
        state.withLock { if let fd = $0.fd { close(fd) } }
    }

    /// The path of backup `index` (1 is the newest), compressed or not.
    public static func backup(_ path: String, _ index: Int, compressed: Bool = true) -> String {
        "\(path).\(index)" + (compressed ? ".gz" : "")
    }

    private func rotate(_ state: inout State) {
        func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
        if rotation.backups == 0 {
            // Nothing kept: start the file again.
            if let fd = state.fd, ftruncate(fd, 0) != 0 {
                failed(&state, "cannot empty \(path): \(String(cString: strerror(errno)))")
                return
            }
            state.size = 0
            state.rotationError = nil
            state.lastRotationFailure = nil
            return
        }
        // The oldest go, the rest move up by one.
        for compressed in [true, false] {
            let oldest = Self.backup(path, rotation.backups, compressed: compressed)
            if exists(oldest) { unlink(oldest) }
        }
        for index in stride(from: rotation.backups - 1, through: 1, by: -1) {
            for compressed in [true, false] {
                let from = Self.backup(path, index, compressed: compressed)
                if exists(from) { rename(from, Self.backup(path, index + 1, compressed: compressed)) }
            }
        }
        let plain = Self.backup(path, 1, compressed: false)
        guard rename(path, plain) == 0 else {
            failed(&state, "cannot rename \(path) to \(plain): \(String(cString: strerror(errno)))")
            return
        }
        if let fd = state.fd { close(fd) }
        state.fd = nil
        state.size = nil
        open(&state)
        // The lines are all in `plain` now (this thread is the only writer): compress it.
        let compressed = Self.backup(path, 1)
        let temporary = compressed + ".tmp"
        do {
            try Gzip.compress(plain, to: temporary)
            guard rename(temporary, compressed) == 0 else {
                unlink(temporary)
                failed(&state, "cannot rename \(temporary): \(String(cString: strerror(errno))); \(plain) is kept uncompressed")
                return
            }
            unlink(plain)
            state.rotationError = nil
            state.lastRotationFailure = nil
        } catch {
            // The backup stays, uncompressed: nothing is lost.
            state.rotationError = "cannot compress \(plain): \(error); it is kept uncompressed"
        }
    }

    private func failed(_ state: inout State, _ reason: String) {
        state.rotationError = reason
        state.lastRotationFailure = Self.now
    }

    private func open(_ state: inout State) {
        state.lastAttempt = Self.now
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        } catch {
            state.openError = "cannot create the log directory \(directory): \(Self.reason(error))"
            return
        }
        let fd = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            state.openError = "cannot open \(path): \(String(cString: strerror(errno)))"
            return
        }
        state.fd = fd
        state.size = nil
        state.openError = nil
    }

    /// The size of a regular file; a device (`/dev/full`, `/dev/null`) or a pipe is never rotated.
    private static func size(of fd: Int32) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return 0 }
        return Int(info.st_size)
    }

    private static var now: Double { ProcessInfo.processInfo.systemUptime }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let code = underlying?.code, underlying?.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(code))) }
        return error.localizedDescription
    }
}

extension SupervisorConfig {
    /// `log_max_bytes` and `log_backups`.
    public var logRotation: LogRotation { LogRotation(maxBytes: logMaxBytes, backups: logBackups) }
}
