/// What a worker tolerates from a connection before it closes it: the defenses against
/// scanners, slow clients and floods on a port open to the internet. Each hit is logged as a
/// rejection.
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections open at once; more are closed on arrival (`too_many_connections`).
    public var maxConnections = 1024
    /// Connections open at once from one client address; at this cap (or at `maxConnections`)
    /// a new connection evicts the oldest one that has not yet sent a whole request.
    public var maxConnectionsPerIP = 64
    /// The request line and headers, all together, in bytes; more gets 400 (`headers_too_large`).
    public var maxHeaderBytes = 16 * 1024
    /// Seconds for a request's headers to arrive, from the connection (or the previous
    /// response) on; a slower client is disconnected (`slow_headers`).
    public var headerTimeout = 10.0
    /// Seconds for a request's body to arrive after its headers (`slow_body`).
    public var bodyTimeout = 10.0
    /// Seconds a connection may sit idle between requests.
    public var idleTimeout = 60.0
    /// Requests per minute one validator hotkey may make (after its signature is checked);
    /// more get 429 (`rate_limited`). Nil: no limit.
    public var maxRequestsPerMinute: Int?

    public init() {}
}
