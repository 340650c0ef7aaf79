import Backends
import Config
import Logging
import ServiceLifecycle

/// `keep_alive` for Ollama-style servers, which unload a model after 5 idle minutes (and reset
/// that timer on every `/v1` request): the native keep-alive call at start and every
/// `interval`, so the model is loaded whenever a validator asks. A failure is logged once per
/// run of failures, and the next round tries again.
struct BackendKeepAlive: Service {
    let server: BackendServer
    let value: KeepAlive
    var interval: Duration = .seconds(30)
    var clock: any Clock<Duration> = ContinuousClock()
    let logger: Logger

    func run() async {
        // A graceful stop cancels the loop; that is its normal end, not a failure of the group.
        try? await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    // A cold load can take minutes; the next round waits for it.
                    try await server.keepAlive(value, timeout: 600)
                    if failing { logger.notice("backend keep_alive works again") }
                    failing = false
                } catch is CancellationError {
                    return
                } catch {
                    if !failing { logger.warning("backend keep_alive failed: \(error); trying again every \(interval)") }
                    failing = true
                }
                try await clock.sleep(for: interval)
            }
        }
    }
}
