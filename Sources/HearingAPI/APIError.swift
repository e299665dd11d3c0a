import Foundation
public import HTTPTypes
public import Hummingbird
import Logging

/// An error answered as JSON, in the shape OpenAI's clients read:
/// `{"error": {"message": "...", "type": "...", "code": "..."}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable machine-readable code, such as `file_too_large`.
    public var code: String
    /// One line for people.
    public var message: String

    /// An error.
    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let kind = status.code >= 500 ? "server_error" : status == .unauthorized ? "authentication_error" : "invalid_request_error"
        let body = ErrorBody(error: .init(message: message, type: kind, code: code))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(body))))
    }

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var code: String
        }
        var error: Detail
    }

    /// 400.
    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code: code, message) }
    /// 404 for a job.
    static func noSuchJob(_ id: String) -> APIError { APIError(.notFound, code: "job_not_found", "no job \(id)") }
}

/// Turns any error a route throws into a JSON error: ``APIError``s as they are, Hummingbird's
/// own (a route not found, a method not allowed) with their status, anything else as a 500
/// that names no internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw APIError(answering: error, logger: context.logger)
        }
    }
}

extension APIError {
    /// The JSON error that answers `error`: an ``APIError`` as it is, Hummingbird's own with
    /// its status, anything else a 500 that names no internals (logged in full).
    init(answering error: any Error, logger: Logger) {
        switch error {
        case let error as APIError:
            self = error
        case let error as HTTPError:
            self.init(error.status, code: error.status == .notFound ? "not_found" : "http_error", error.body ?? error.status.reasonPhrase)
        default:
            logger.error("Request failed", metadata: ["error": "\(error)"])
            self.init(.internalServerError, code: "internal_error", "the request failed inside the service; the log has the details")
        }
    }
}
