import Logging
import Synchronization

/// The supervisor's writers, one thread each: worker log files, and standard error (the
/// supervisor's own log lines and `--echo-logs`). Separate so that a paused terminal does not
/// hold up the log files, nor a stalled disk the terminal.
public struct SupervisorOutput: Sendable {
    public let logFiles: OutputQueue
    public let standardError: OutputQueue
    /// The supervisor's own log lines that did not reach its standard error.
    public let ownLines: LossCounter
    /// The supervisor's own log lines that did not reach `LOG_DIR/supervisor.log`.
    public let ownFileLines: LossCounter
    /// `LOG_DIR/supervisor.log`, once the config has named the directory.
    let ownFile: OwnLogFile

    public init(logFiles: OutputQueue, standardError: OutputQueue, ownLines: LossCounter = LossCounter()) {
        self.logFiles = logFiles
        self.standardError = standardError
        self.ownLines = ownLines
        self.ownFileLines = LossCounter()
        self.ownFile = OwnLogFile()
    }

    public static let shared = SupervisorOutput(
        logFiles: OutputQueue(name: "miners-log-files", capacity: 8 << 20),
        standardError: OutputQueue(name: "miners-stderr", capacity: 1 << 20)
    )

    /// The name of the supervisor's own log file in the log directory.
    public static let ownLogName = "supervisor"

    /// From now on the supervisor's own log lines also go to `file` (written by the log files'
    /// thread, rotated as the workers' logs are); standard error gets them as before.
    public func writeOwnLines(to file: LogFile?) {
        ownFile.file.withLock { $0 = file }
    }

    /// A log handler in swift-log's usual format whose lines go through the standard-error
    /// queue (and, once set, the log files' queue): a logger call never blocks on the terminal.
    public func logHandler(label: String) -> any LogHandler {
        StreamLogHandler(label: label, stream: QueuedStream(output: self))
    }

    final class OwnLogFile: Sendable {
        let file = Mutex<LogFile?>(nil)
    }

    struct QueuedStream: TextOutputStream, Sendable {
        let output: SupervisorOutput

        mutating func write(_ string: String) {
            let bytes = Array(string.utf8)
            output.standardError.enqueue(bytes, to: StandardErrorTarget.shared, loss: output.ownLines)
            if let file = output.ownFile.file.withLock({ $0 }) {
                output.logFiles.enqueue(bytes, to: file, loss: output.ownFileLines)
            }
        }
    }
}
