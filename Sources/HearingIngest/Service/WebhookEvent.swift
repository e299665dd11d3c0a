public import Foundation
import HearingAI

/// A completion webhook's body: what happened to which job.
///
/// ```json
/// {"audio_duration_seconds":12.5,"created_at":"2026-12-01T10:00:00Z","error":null,
///  "event":"job.completed","event_id":"evt_…","job_id":42,
///  "outputs":["meeting.json","meeting.txt"],"source":"meeting.wav"}
/// ```
///
/// Keys are sorted, and every key is present (`null` when it does not apply), so receivers
/// can rely on the shape. The body is signed as sent (``WebhookSignature``).
public struct WebhookEvent: Codable, Sendable, Equatable {
    /// What happened.
    public enum EventType: String, Codable, Sendable {
        /// The job's transcripts are in the outbox.
        case jobCompleted = "job.completed"
        /// The job failed for good; its source is in failed/.
        case jobFailed = "job.failed"
    }

    /// Unique to the event, stable across retries and receivers: `evt_` and a UUID.
    public var id: String
    /// What happened.
    public var type: EventType
    /// When the job ended.
    public var createdAt: Date
    /// The job's id (`hearingai jobs show ID`).
    public var jobID: Int64
    /// The source file's name as dropped.
    public var source: String
    /// The transcripts' names in the outbox; empty for a failure.
    public var outputs: [String]
    /// The audio's duration in seconds, when known.
    public var audioDurationSeconds: Double?
    /// Why the job failed; nil when it completed.
    public var error: String?

    /// An event with a new id.
    public init(
        type: EventType, jobID: Int64, source: String, outputs: [String] = [], audioDurationSeconds: Double? = nil,
        error: String? = nil, now: Date = Date()
    ) {
        id = "evt_" + UUID().uuidString.lowercased()
        self.type = type
        createdAt = now
        self.jobID = jobID
        self.source = source
        self.outputs = outputs
        self.audioDurationSeconds = audioDurationSeconds
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case id = "event_id"
        case type = "event"
        case createdAt = "created_at"
        case jobID = "job_id"
        case source
        case outputs
        case audioDurationSeconds = "audio_duration_seconds"
        case error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(jobID, forKey: .jobID)
        try container.encode(source, forKey: .source)
        try container.encode(outputs, forKey: .outputs)
        // Present as null rather than missing, so the shape does not depend on the outcome.
        try container.encode(audioDurationSeconds, forKey: .audioDurationSeconds)
        try container.encode(error, forKey: .error)
    }

    /// The JSON body: sorted keys, dates in ISO 8601.
    public func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// The event read back from a body.
    public static func decode(_ body: Data) throws -> WebhookEvent {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(WebhookEvent.self, from: body)
    }

    /// One pending delivery of this event to each of `urls`.
    public func deliveries(to urls: [String], now: Date = Date()) throws -> [WebhookDelivery] {
        guard !urls.isEmpty else { return [] }
        let body = try body()
        return urls.map { WebhookDelivery(event: self, body: body, url: $0, now: now) }
    }
}

/// The `X-HearingAI-Signature` header: `sha256=` and the lowercase hex HMAC-SHA256 of the body
/// under the shared secret.
public enum WebhookSignature {
    /// The header's name.
    public static let header = "X-HearingAI-Signature"
    /// The header carrying the event id, for receivers to de-duplicate on.
    public static let eventIDHeader = "X-HearingAI-Event-ID"
    /// The header carrying the event type.
    public static let eventHeader = "X-HearingAI-Event"

    /// The header's value for `body` under `secret`.
    public static func value(body: Data, secret: WebhookSecret) -> String {
        "sha256=" + HMACSHA256.hex(of: body, key: secret.bytes)
    }
}

/// The webhook secret, read from `webhook_secret_file`. Its description never shows it, so
/// it cannot reach a log by accident.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    /// The secret `bytes`.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The file's first line (a trailing newline is not part of the secret). Throws a
    /// one-line error naming the file, never its contents, when it is missing, unreadable or
    /// empty.
    public init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HearingAIError(.invalidOptions, path: path, reason: "webhook secret file not found or unreadable")
        }
        let line = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        var secret = Array(line)
        if secret.last == UInt8(ascii: "\r") { secret.removeLast() }
        guard !secret.isEmpty else {
            throw HearingAIError(.invalidOptions, path: path, reason: "webhook secret file is empty")
        }
        bytes = secret
    }

    public var description: String { "<webhook secret>" }
}
