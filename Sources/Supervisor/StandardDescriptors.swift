import Foundation

/// Standard input, output and error as the supervisor found them.
public enum StandardDescriptors {
    /// Puts /dev/null on any of descriptors 0–2 that is closed (`2>&-`): otherwise the next
    /// file the supervisor opens — the database — would take that number and receive its log
    /// lines. A closed standard error stays "closed" for the output counts: every line meant
    /// for it is counted as lost. Returns the descriptors that were closed.
    @discardableResult
    public static func reserve() -> Set<Int32> {
        var closed = Set<Int32>()
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            closed.insert(fd)
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0, null != fd {
                dup2(null, fd)
                close(null)
            }
        }
        if closed.contains(STDERR_FILENO) { StandardErrorTarget.shared.markClosed() }
        return closed
    }
}
