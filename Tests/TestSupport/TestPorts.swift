import Foundation
import Synchronization

/// TCP ports for configs that tests write (a supervisor checks they are free, then a worker
/// binds them later). A port from bind(0) lies in the kernel's ephemeral range, where any
/// outgoing connection of the tests running beside may take it meanwhile; these come from
/// below it (10000-19999; the interop tests use 20000-32767), each once per process, and are
/// free on every address when handed out.
public enum TestPorts {
    private static let range = 10_000..<20_000
    private static let next = Mutex(Int(getpid()) % 10_000)

    public static func free() -> Int {
        for _ in range {
            let port = next.withLock { offset -> Int in
                defer { offset = (offset + 1) % range.count }
                return range.lowerBound + offset
            }
            if canBind(port) { return port }
        }
        fatalError("no free TCP port in \(range)")
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = INADDR_ANY
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
