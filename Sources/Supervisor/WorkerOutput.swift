/// Where one miner's worker output was lost: its log file, and the echo on the supervisor's
/// standard error (`--echo-logs`). Lives as long as the miner's slot, across restarts.
public final class WorkerOutput: Sendable {
    public let log = LossCounter()
    public let echo = LossCounter()

    public init() {}
}
