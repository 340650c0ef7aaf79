import Foundation

/// `write(2)` until every byte is out, without ever trapping: `FileHandle.write` traps on a
/// failed write, and a full disk or a closed terminal must not kill the supervisor.
public enum FDWrite {
    /// Writes all of `bytes` to `fd`. Retries after EINTR; on EAGAIN (a non-blocking
    /// descriptor that is full) waits up to `waitLimit` seconds for room, once per stall.
    /// Returns nil when everything was written, else the reason it was not.
    @discardableResult
    public static func all(_ fd: Int32, _ bytes: some Collection<UInt8>, waitLimit: Double = 1) -> String? {
        let result: String?? = bytes.withContiguousStorageIfAvailable { write(fd, UnsafeRawBufferPointer($0), waitLimit: waitLimit) }
        if let result { return result }
        return Array(bytes).withUnsafeBytes { write(fd, $0, waitLimit: waitLimit) }
    }

    private static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, waitLimit: Double) -> String? {
        guard let base = buffer.baseAddress else { return nil }
        var offset = 0
        var deadline: Double?
        while offset < buffer.count {
            let count = Foundation.write(fd, base + offset, buffer.count - offset)
            if count > 0 {
                offset += count
                deadline = nil
                continue
            }
            let error = count < 0 ? errno : EIO
            switch error {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                let now = ProcessInfo.processInfo.systemUptime
                let end = deadline ?? now + waitLimit
                deadline = end
                guard now < end else { return "no room to write for \(waitLimit) s" }
                // Ready (or an error the next write reports) or interrupted: try again.
                var poll = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = Foundation.poll(&poll, 1, Int32(((end - now) * 1000).rounded(.up)))
            default:
                return String(cString: strerror(error))
            }
        }
        return nil
    }
}
