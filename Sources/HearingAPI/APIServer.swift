import Foundation
import HearingAI
public import HearingIngest
import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The service's HTTP API, as one more service in `hearingai watch`'s group: one Hummingbird
/// server per `listen` address, all serving the same routes (``APIRoutes``).
///
/// It starts after the ingest services and stops first: on SIGTERM the listeners stop
/// accepting, requests in flight are drained (a client waiting for a transcript is answered
/// 503 with its job's address; the job stays queued), within the group's shutdown bound.
/// A unix socket is made mode 0660 (its directory decides who reaches it) and removed on stop;
/// a stale socket a crash left at the path is replaced, anything else there is an error.
public struct APIServer: Service {
    let configuration: APIConfiguration
    let access: IngestAccess
    let metrics: (@Sendable () async -> String)?
    let logger: Logger

    /// A server for `configuration`'s addresses over `access`. `metrics`, if given, renders
    /// `GET /metrics` (Prometheus text format).
    public init(
        configuration: APIConfiguration, access: IngestAccess, metrics: (@Sendable () async -> String)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.access = access
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let routes = APIRoutes(access: access, configuration: configuration, metrics: metrics)
        let responder = routes.router().buildResponder()
        let (logger, configuration) = (self.logger, self.configuration)
        try await withThrowingDiscardingTaskGroup { group in
            for address in configuration.listen {
                let bind: BindAddress
                switch address.kind {
                case .tcp(let host, let port): bind = .hostname(host, port: port)
                case .unix(let path):
                    try Self.removeStaleSocket(path)
                    bind = .unixDomainSocket(path: path)
                }
                let application = Application(
                    responder: responder,
                    server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9)))),
                    configuration: ApplicationConfiguration(address: bind, serverName: nil),
                    onServerRunning: { channel in
                        if case .unix(let path) = address.kind { chmod(path, 0o660) }
                        logger.info(
                            "API listening",
                            metadata: [
                                "api.address": "\(address)", "api.port": "\(channel.localAddress?.port.map(String.init) ?? "-")",
                                "api.auth": "\(configuration.tokens.isEmpty ? "none" : "bearer tokens")",
                            ])
                    },
                    logger: logger)
                group.addTask {
                    defer { if case .unix(let path) = address.kind { unlink(path) } }
                    try await application.run()
                }
            }
        }
    }

    /// Removes a socket left at `path` by a process that is gone; refuses to touch anything
    /// that is not a socket.
    static func removeStaleSocket(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw HearingAIError(
                .serviceUnavailable, path: path, reason: "cannot listen here: something that is not a socket is at this path")
        }
        unlink(path)
    }
}
