import Logging

/// The supervisor's writers, one thread each: worker log files, and standard error (the
/// supervisor's own log lines and `--echo-logs`). Separate so that a paused terminal does not
/// hold up the log files, nor a stalled disk the terminal.
public struct SupervisorOutput: Sendable {
    public let logFiles: OutputQueue
    public let standardError: OutputQueue
    /// The supervisor's own log lines that did not reach its standard error.
    public let ownLines: LossCounter

    public init(logFiles: OutputQueue, standardError: OutputQueue, ownLines: LossCounter = LossCounter()) {
        self.logFiles = logFiles
        self.standardError = standardError
        self.ownLines = ownLines
    }

    public static let shared = SupervisorOutput(
        logFiles: OutputQueue(name: "miners-log-files", capacity: 8 << 20),
        standardError: OutputQueue(name: "miners-stderr", capacity: 1 << 20)
    )

    /// A log handler in swift-log's usual format whose lines go through the standard-error
    /// queue: a logger call never blocks on the terminal.
    public func logHandler(label: String) -> any LogHandler {
        StreamLogHandler(label: label, stream: QueuedStream(queue: standardError, loss: ownLines))
    }

    struct QueuedStream: TextOutputStream, Sendable {
        let queue: OutputQueue
        let loss: LossCounter

        mutating func write(_ string: String) {
            queue.enqueue(Array(string.utf8), to: StandardErrorTarget.shared, loss: loss)
        }
    }
}
