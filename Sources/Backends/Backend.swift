/// What a backend is asked to answer: the synapse's conversation.
public struct GenerationRequest: Sendable, Equatable {
    public var roles: [String]
    public var messages: [String]

    public init(roles: [String], messages: [String]) {
        self.roles = roles
        self.messages = messages
    }

    /// The question of the last message, decoded as the subnet's miners do.
    public var question: Question { Question(message: messages.last ?? "") }
}

/// The items of one generation. Iteration must end promptly when the consuming task is
/// cancelled, and ending it must stop the generation.
public typealias BackendItems = any AsyncSequence<String, any Error> & Sendable

/// A producer of answer items ("print-ready" pieces of text, usually words).
///
/// Each call starts one generation for one request and returns its own stream; the streaming
/// engine consumes it and cancels it when the request ends, which must stop the generation.
public protocol Backend: Sendable {
    /// The config's `kind`, for the log.
    var kind: String { get }
    /// Starts one generation; `report` receives what the server says about it (token usage).
    func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems
    /// Releases what the backend holds (connection pools) when the worker stops.
    func shutdown() async
    /// The HTTP server behind the backend, nil for the mock.
    var server: BackendServer? { get }
}

extension Backend {
    public func shutdown() async {}
    public var server: BackendServer? { nil }

    public func generate(_ request: GenerationRequest) -> BackendItems {
        generate(request, report: GenerationReport())
    }
}
