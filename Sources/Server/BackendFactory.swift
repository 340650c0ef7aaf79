import Backends
import Config

extension BackendConfig {
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
