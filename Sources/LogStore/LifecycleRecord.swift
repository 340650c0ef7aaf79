/// One event in the life of a worker process, of a service (`service` set), or of the
/// supervisor (neither set).
public struct LifecycleRecord: Sendable, Equatable {
    public enum Event: String, Sendable, CaseIterable {
        case supervisorStart = "supervisor_start"
        case supervisorStop = "supervisor_stop"
        case reload
        case start
        case running
        case exit
        case backoff
        case crashLoop = "crash_loop"
        case stop
        /// A service's health check failed (it is restarted after `failures` in a row).
        case unhealthy
    }

    /// Unix seconds.
    public var at: Double
    public var miner: String?
    public var service: String?
    public var event: Event
    public var pid: Int32?
    public var exitCode: Int32?
    public var signal: Int32?
    public var uptime: Double?
    public var backoff: Double?
    public var detail: String?

    public init(
        at: Double, miner: String?, event: Event, pid: Int32? = nil, exitCode: Int32? = nil, signal: Int32? = nil,
        uptime: Double? = nil, backoff: Double? = nil, detail: String? = nil, service: String? = nil
    ) {
        self.at = at
        self.miner = miner
        self.service = service
        self.event = event
        self.pid = pid
        self.exitCode = exitCode
        self.signal = signal
        self.uptime = uptime
        self.backoff = backoff
        self.detail = detail
    }
}
