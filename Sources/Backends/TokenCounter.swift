import Synchronization

/// Token counts for `max_batch_tokens`, by the backend server's `/tokenize`, remembered per
/// piece of text (a stream repeats the same tokens). A server without `/tokenize`, or one that
/// fails, is asked no more and every piece counts as one token — the items counted.
public final class TokenCounter: Sendable {
    private let server: BackendServer
    private struct State {
        var known: [String: Int] = [:]
        var unsupported = false
    }

    private let state = Mutex(State())
    /// Pieces longer than this are counted but not remembered; the table is bounded.
    static let cachedPieceBytes = 64
    static let cacheEntries = 20_000
    /// A tokenize request that takes longer costs the stream more than the bound saves.
    static let timeout = 2.0

    public init(server: BackendServer) {
        self.server = server
    }

    public func count(_ text: String) async -> Int {
        // A server without /tokenize counts every piece as one.
        if let known = state.withLock({ $0.unsupported ? 1 : $0.known[text] }) { return known }
        let counted: Int?
        do {
            counted = try await server.countTokens(text, timeout: Self.timeout)
        } catch {
            // Cancelled by the deadline, or the server is away: count the item.
            return 1
        }
        state.withLock { state in
            guard let counted else {
                state.unsupported = true
                return
            }
            if text.utf8.count <= Self.cachedPieceBytes {
                if state.known.count >= Self.cacheEntries { state.known.removeAll(keepingCapacity: true) }
                state.known[text] = counted
            }
        }
        return counted ?? 1
    }
}
