import Backends
import Config
import Streaming

extension MinerConfig {
    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    /// The miner's backend, refusing one that cannot work here.
    func makeCheckedBackend() throws -> any Backend {
        if case .openai(let config) = backend, let problem = OpenAIBackend.problem(config) { throw Unusable(description: problem) }
        return makeBackend()
    }

    /// The miner's backend. An HTTP backend keeps one connection per stream the miner admits
    /// (`max_concurrent_streams`), unless its `max_connections` says otherwise.
    func makeBackend() -> any Backend {
        let streams = admission.maxConcurrentStreams
        return switch backend {
        case .mock(let mock):
            MockBackend(text: mock.text, delay: .milliseconds(mock.delayMilliseconds), failAfter: mock.failAfter)
        case .openai(let config):
            OpenAIBackend(config, connections: streams)
        case .tgi(let config):
            TGIBackend(config, connections: streams)
        }
    }

    /// The batch bounds of the config; tokens counted by the backend's server where it can.
    func makeBatchBounds(backend: any Backend) -> BatchBounds {
        var bounds = BatchBounds(maxChars: batchBounds.maxChars, maxTokens: batchBounds.maxTokens)
        if batchBounds.maxTokens != nil, let server = backend.server {
            let counter = TokenCounter(server: server)
            bounds.countTokens = { await counter.count($0) }
        }
        return bounds
    }
}
