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

/// Where one miner's worker output was lost: its log file, and the echo on the supervisor's
/// standard error (`--echo-logs`). Lives as long as the miner's slot, across restarts.
public final class WorkerOutput: Sendable {
    public let log = LossCounter()
    public let echo = LossCounter()

    public init() {}
}
