import Synchronization

/// Lines that did not reach where they were going (a failed write, a full queue, a file that
/// would not open), and the last reason: shown by `miners status` instead of a crash.
public final class LossCounter: Sendable {
    private let state = Mutex<(count: Int, reason: String?)>((0, nil))

    public init() {}

    public func lost(_ reason: String, lines: Int = 1) {
        state.withLock { $0 = ($0.count + lines, reason) }
    }

    public var count: Int { state.withLock { $0.count } }
    public var lastReason: String? { state.withLock { $0.reason } }
}
