import Backends
import Config

extension BackendConfig {
    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    /// The backend this config describes, refusing one that cannot work here.
    func makeCheckedBackend() throws -> any Backend {
        if case .openai(let config) = self, let problem = OpenAIBackend.problem(config) { throw Unusable(description: problem) }
        return makeBackend()
    }

    /// The backend this config describes.
    func makeBackend() -> any Backend {
        switch self {
        case .mock(let mock):
            MockBackend(text: mock.text, delay: .milliseconds(mock.delayMilliseconds), failAfter: mock.failAfter)
        case .openai(let config):
            OpenAIBackend(config)
        case .tgi(let config):
            TGIBackend(config)
        }
    }
}
