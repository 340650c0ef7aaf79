import Foundation

/// Standard input, output and error as the supervisor found them.
public enum StandardDescriptors {
    /// Puts /dev/null on any of descriptors 0–2 that is still closed (`2>&-`), so that no file
    /// the supervisor opens later — the database — takes that number and receives log lines.
    /// By the time a command runs, the Swift runtime has often taken a closed descriptor 2
    /// already (libdispatch's epoll or eventfd); that one is left alone and never written to.
    /// Either way a closed standard error stays closed for the output counts: every line meant
    /// for it is counted as lost. Returns the descriptors that were closed.
    @discardableResult
    public static func reserve() -> Set<Int32> {
        var closed = Set<Int32>()
        for fd in Int32(0)...2 {
            if fcntl(fd, F_GETFD) == -1 && errno == EBADF {
                closed.insert(fd)
                let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
                if null >= 0, null != fd {
                    dup2(null, fd)
                    close(null)
                }
            } else if fd == STDERR_FILENO, target(of: fd)?.hasPrefix("anon_inode:") == true {
                closed.insert(fd)
            }
        }
        if closed.contains(STDERR_FILENO) { StandardErrorTarget.shared.markClosed() }
        return closed
    }

    /// What a descriptor is open on, as /proc shows it.
    static func target(of fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
