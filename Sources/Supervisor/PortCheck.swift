import Foundation

/// Whether a TCP port can be bound, checked before any worker starts so that a taken port is
/// a clear error rather than a worker that crash-loops.
enum PortCheck {
    /// Nil when `host:port` is free, otherwise the reason.
    static func problem(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            return "cannot resolve host '\(host)'"
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return "cannot open a socket (errno \(errno))" }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = errno == EADDRINUSE ? "is already in use" : "cannot be bound (\(String(cString: strerror(errno))))"
            return "port \(port) on \(host) \(reason)"
        }
        return nil
    }
}
