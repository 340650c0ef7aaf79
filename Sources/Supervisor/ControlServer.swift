import Config
import Foundation
import Hummingbird
import Logging

/// The supervisor's control API: HTTP on a Unix socket next to the database, readable and
/// writable by its owner only.
///
/// `GET /status`, `POST /reload`, `POST /miners/NAME/{start,stop,restart}`; answers are JSON,
/// `{"message": ...}` for actions and errors.
public enum ControlServer {
    public static func application(
        supervisor: Supervisor, socketPath: String, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("status") { _, _ in await supervisor.status() }
        router.post("reload") { _, _ -> Response in
            do {
                return message(.ok, try await supervisor.reload())
            } catch {
                return message(.unprocessableContent, "reload rejected, the running set is kept: \(error)")
            }
        }
        router.post("miners/:name/:action") { _, context -> Response in
            let name = try context.parameters.require("name")
            let action = try context.parameters.require("action")
            do {
                switch action {
                case "start": try await supervisor.start(name)
                case "stop": try await supervisor.stop(name)
                case "restart": try await supervisor.restart(name)
                default: return message(.notFound, "unknown action '\(action)'; use start, stop or restart")
                }
                return message(.ok, "\(name): \(action) done")
            } catch {
                return message(.notFound, "\(error)")
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "miners-supervisor"),
            // Connecting needs write permission on the socket file, which the usual umask
            // already denies to others; owner-only makes it explicit.
            onServerRunning: { _ in chmod(socketPath, 0o600) },
            logger: logger
        )
    }

    static func message(_ status: HTTPResponse.Status, _ text: String) -> Response {
        let body = (try? JSONEncoder().encode(["message": text])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension SupervisorStatus: ResponseEncodable {}
