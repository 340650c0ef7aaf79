import Foundation
import Logging
import Synchronization

/// A minimal `sd_notify(3)`: one datagram per message to the Unix socket named by
/// `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace), as systemd's `Type=notify`
/// expects (`READY=1`, `STOPPING=1`, `STATUS=...`). Without `NOTIFY_SOCKET` there is none.
///
/// It never blocks and never traps: the socket is non-blocking, a send that fails (systemd
/// gone, its queue full) is dropped, and only the first failure is logged.
public final class SystemdNotify: Sendable {
    /// The socket's name as given (`/run/systemd/notify`, `@name`).
    public let socketName: String
    private let descriptor: Int32
    private let address: [UInt8]
    private let logger: Logger?
    private let failed = Mutex(false)

    /// From `NOTIFY_SOCKET`, or nil when it is unset or unusable (logged). With `unset`, the
    /// variable is removed from the environment, so workers and services (whose own messages
    /// systemd would ignore under `NotifyAccess=main`) do not inherit it.
    public static func fromEnvironment(unset: Bool = true, logger: Logger? = nil) -> SystemdNotify? {
        guard let name = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !name.isEmpty else { return nil }
        if unset { unsetenv("NOTIFY_SOCKET") }
        do {
            return try SystemdNotify(socket: name, logger: logger)
        } catch {
            logger?.warning("NOTIFY_SOCKET \(name): \(error); systemd will not hear of readiness")
            return nil
        }
    }

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public init(socket name: String, logger: Logger? = nil) throws(Problem) {
        var path = Array(name.utf8)
        guard let first = path.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@") else {
            throw Problem(description: "not an absolute path nor an abstract socket name (@name)")
        }
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if first == UInt8(ascii: "@") {
            path[0] = 0  // abstract namespace: no terminating NUL, the length says where it ends
        } else {
            path.append(0)
        }
        guard path.count <= capacity else {
            throw Problem(description: "longer than the \(capacity) bytes of a Unix socket address")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Problem(description: "socket(): \(String(cString: strerror(errno)))") }
        self.socketName = name
        self.descriptor = fd
        self.address = path
        self.logger = logger
    }

    deinit { close(descriptor) }

    /// Sends `message` (lines of `KEY=VALUE`); false when it was not sent.
    @discardableResult
    public func send(_ message: String) -> Bool {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.baseAddress!.advanced(by: pathOffset).copyMemory(from: address, byteCount: address.count)
        }
        let length = socklen_t(pathOffset + address.count)
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { body in
                    sendto(descriptor, body.baseAddress, body.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        if sent == bytes.count { return true }
        let reason = sent < 0 ? String(cString: strerror(errno)) : "sent \(sent) of \(bytes.count) bytes"
        let first = failed.withLock { failed in
            defer { failed = true }
            return !failed
        }
        if first {
            logger?.warning("systemd notification to \(socketName) failed: \(reason) (further failures are not logged)")
        }
        return false
    }
}
