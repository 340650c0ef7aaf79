import Foundation
import Synchronization

/// A worker's `LOG_DIR/NAME.log`, appended to by an `OutputQueue`. A file that cannot be
/// opened (the directory unwritable or full) does not stop the worker from starting: its lines
/// are counted as lost, and opening is tried again at most every `retryInterval` seconds.
public final class LogFile: OutputTarget {
    public let path: String
    public let retryInterval: Double
    private struct State {
        var fd: Int32?
        var lastAttempt: Double?
        var openError: String?
    }
    private let state = Mutex(State())

    public init(path: String, retryInterval: Double = 10) {
        self.path = path
        self.retryInterval = retryInterval
        state.withLock { open(&$0) }
    }

    /// Why the file is not open, if it is not.
    public var openError: String? { state.withLock { $0.fd == nil ? $0.openError : nil } }

    public func write(_ bytes: [UInt8]) -> String? {
        state.withLock { state in
            if state.fd == nil, let last = state.lastAttempt, Self.now - last >= retryInterval { open(&state) }
            guard let fd = state.fd else { return state.openError }
            return FDWrite.all(fd, bytes).map { "\(path): \($0)" }
        }
    }

    deinit {
        state.withLock { if let fd = $0.fd { close(fd) } }
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
        state.openError = nil
    }

    private static var now: Double { ProcessInfo.processInfo.systemUptime }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let code = underlying?.code, underlying?.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(code))) }
        return error.localizedDescription
    }
}
