import Hummingbird
import Logging

/// `GET /metrics` in the Prometheus text format, on the config's `supervisor.metrics_host:metrics_port`.
public enum MetricsServer {
    public static func application(
        metrics: MinerMetrics, supervisor: Supervisor, host: String, port: Int, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            do {
                let status = await supervisor.status()
                let text = try await metrics.scrape(status: status.miners, services: status.services)
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: text))
                )
            } catch {
                logger.error("metrics: cannot read the log: \(error)")
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "cannot read the log: \(error)\n")))
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "miners-metrics"),
            logger: logger
        )
    }
}
