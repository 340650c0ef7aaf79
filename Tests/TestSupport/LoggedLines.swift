import Logging
import Synchronization

/// Collects the messages a logger prints: `Logger(label: "test") { _ in lines }`.
public final class LoggedLines: LogHandler, @unchecked Sendable {  // the box is locked
    private let box = Mutex<[String]>([])
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) { box.withLock { $0.append("\(event.message)") } }

    public var all: [String] { box.withLock { $0 } }
}
