import Foundation
import Synchronization

/// The supervisor's standard error.
public final class StandardErrorTarget: OutputTarget {
    public static let shared = StandardErrorTarget()
    /// Standard error was closed when the supervisor started: descriptor 2 is /dev/null now, or
    /// something of the runtime's, and is never written to.
    private let closed = Atomic<Bool>(false)

    func markClosed() {
        closed.store(true, ordering: .relaxed)
    }

    public func write(_ bytes: [UInt8]) -> String? {
        if closed.load(ordering: .relaxed) { return "standard error was closed when the supervisor started" }
        return FDWrite.all(STDERR_FILENO, bytes).map { "standard error: \($0)" }
    }
}
