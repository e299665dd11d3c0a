import AsyncHTTPClient
import HearingAI
public import HearingIngest
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Sends webhooks over HTTP with AsyncHTTPClient: the ``HearingIngest/WebhookSender`` the
/// executable gives the ingest service.
///
/// Redirects are not followed (a receiver that moved answers 3xx, which counts as a failed
/// attempt and is recorded as such), the pool does not retry a failed connection by itself
/// (the delivery service's backoff does, visibly), and every request has a deadline, so a
/// receiver that accepts and never answers costs one timeout, not a stuck delivery. Nothing
/// of the answer is kept but its status; its body is read up to 64 KB and dropped.
public struct HTTPWebhookSender: WebhookSender {
    /// One client for the process, on NIO's shared event loops; it lives as long as the
    /// process, like `HTTPClient.shared`, but with redirects off.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(5)
        configuration.timeout.read = .seconds(10)
        configuration.decompression = .disabled
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The `User-Agent` sent.
    let userAgent: String

    /// A sender that identifies itself as `userAgent` (such as `hearingai/0.1.0`).
    public init(userAgent: String) {
        self.userAgent = userAgent
    }

    public func send(_ request: WebhookRequest) async throws -> Int {
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        http.headers.add(name: "User-Agent", value: userAgent)
        for header in request.headers { http.headers.add(name: header.name, value: header.value) }
        http.body = .bytes(ByteBuffer(bytes: request.body))
        let seconds = request.timeout.components.seconds
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(http, timeout: .seconds(max(1, seconds)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw HearingAIError(.serviceUnavailable, reason: Self.describe(error, timeout: seconds))
        }
        _ = try? await response.body.collect(upTo: 65_536)
        return Int(response.status.code)
    }

    /// A short reason for `webhooks list` and the log: what went wrong, not the request.
    static func describe(_ error: any Error, timeout: Int64) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "no answer within \(timeout) s"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the receiver closed the connection"
            default: return "HTTP client error: \(error)"
            }
        }
        var underlying = error
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { underlying = first.error }
        if let io = underlying as? IOError {
            return "connection failed: " + String(cString: strerror(io.errnoCode)).lowercased()
        }
        return "connection failed: \(underlying)"
    }
}
