public import Foundation

/// One webhook POST: where, which headers, what body, and how long it may take.
public struct WebhookRequest: Sendable {
    /// The receiver.
    public var url: String
    /// Headers, in order (the signature and event id among them).
    public var headers: [(name: String, value: String)]
    /// The JSON body.
    public var body: Data
    /// The whole request's deadline: connecting, sending and the answer.
    public var timeout: Duration

    /// A request.
    public init(url: String, headers: [(name: String, value: String)], body: Data, timeout: Duration) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// Sends a webhook request and returns the HTTP status of the answer; throws when there is
/// none (refused, timed out, reset). Redirects are answers, not followed.
///
/// HearingIngest links no HTTP stack: the executable gives the service a sender over
/// AsyncHTTPClient (`HearingWebhooks.HTTPWebhookSender`), as it gives it an engine; tests may
/// give a sender of their own.
public protocol WebhookSender: Sendable {
    /// Sends `request`; the status of the answer.
    func send(_ request: WebhookRequest) async throws -> Int
}
