import Hummingbird
import NIOCore

/// The request context of a worker: Hummingbird's core context plus the connection, which the
/// responder needs to notice a client that goes away while the backend is silent.
public struct WorkerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
