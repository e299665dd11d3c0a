public import Foundation
public import GRDB

/// One webhook event for one receiver, as the queue's outbox holds it (table
/// `webhook_delivery`).
///
/// Rows are written in the transaction that finishes their job (``JobQueue/markDone(_:webhooks:now:)``,
/// ``JobQueue/markFailed(_:reason:webhooks:now:)``), so an event exists exactly when its job's
/// end does, whatever stops the process afterwards. The body is fixed when the row is written:
/// every retry sends the same bytes with the same ``eventID``, and receivers de-duplicate on it.
public struct WebhookDelivery: Codable, Sendable, Identifiable, Equatable, FetchableRecord, MutablePersistableRecord {
    /// Where a delivery is.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Not yet accepted by the receiver; sent when ``WebhookDelivery/notBefore`` comes.
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Every attempt failed, up to the configured count (`webhook_max_attempts`); kept for
        /// `hearingai webhooks retry`.
        case gaveUp = "gave_up"
    }

    /// The table.
    public static let databaseTableName = "webhook_delivery"

    /// Columns, for queries.
    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let eventID = Column(CodingKeys.eventID)
        static let state = Column(CodingKeys.state)
        static let attempts = Column(CodingKeys.attempts)
        static let notBefore = Column(CodingKeys.notBefore)
        static let lastError = Column(CodingKeys.lastError)
        static let lastStatus = Column(CodingKeys.lastStatus)
        static let updatedAt = Column(CodingKeys.updatedAt)
        static let deliveredAt = Column(CodingKeys.deliveredAt)
    }

    /// The row's id; nil until inserted.
    public var id: Int64?
    /// The event's id (``WebhookEvent/id``): the same for every receiver and every retry.
    public var eventID: String
    /// `job.completed` or `job.failed`.
    public var event: String
    /// The job the event is about.
    public var jobID: Int64
    /// The receiver.
    public var url: String
    /// The JSON body, exactly as sent.
    public var body: Data
    /// Where the delivery is.
    public var state: State
    /// Attempts made.
    public var attempts: Int
    /// When the next attempt is due.
    public var notBefore: Date
    /// Why the last attempt failed.
    public var lastError: String?
    /// The HTTP status of the last answer, if there was one.
    public var lastStatus: Int?
    /// When the event was written.
    public var createdAt: Date
    /// When the row last changed.
    public var updatedAt: Date
    /// When the receiver accepted it.
    public var deliveredAt: Date?

    /// Sets the id after insertion.
    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// A pending delivery of `event` to `url`, due at once.
    public init(event: WebhookEvent, body: Data, url: String, now: Date = Date()) {
        eventID = event.id
        self.event = event.type.rawValue
        jobID = event.jobID
        self.url = url
        self.body = body
        state = .pending
        attempts = 0
        notBefore = now
        createdAt = now
        updatedAt = now
    }
}
